import { z } from 'zod';

/**
 * The formats values from outside are held to, shared by every schema (config, release proposal,
 * release record, serve's options): names, paths, label keys, versions, digests, references.
 */

/**
 * Model and target names become path segments in the GitOps repo and Kubernetes object names,
 * so they are DNS labels: nothing like `../` can escape the directory they are written to.
 */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const dnsLabel = z.string().regex(DNS_LABEL, {
  error: (issue) =>
    `expected a DNS label (lowercase letters, digits and '-', at most 63 characters), found ${JSON.stringify(issue.input)}`,
});

/** A relative path inside a repo that stays inside it. */
export const repoPath = z
  .string()
  .min(1)
  .refine((value) => !value.startsWith('/') && !value.split(/[\\/]/).includes('..'), {
    error: (issue) =>
      `expected a relative path inside the repo (no leading '/', no '..'), found ${JSON.stringify(issue.input)}`,
  });

/** A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    {
      error: (issue) => `expected a label key such as region or edgeship.io/ring, found ${JSON.stringify(issue.input)}`,
    },
  );

/** A repository as GitHub names it: `owner/name`. */
export const repoName = (repo: { owner: string; repo: string }) => `${repo.owner}/${repo.repo}`;

/** Semantic Versioning 2.0.0, as semver.org gives it: no spaces, no line breaks. */
export const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPOSITORY = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*';
/** `registry[:port]/repository@sha256:…` or, for the local loop, `oci-layout:<dir>@sha256:…`. */
export const PINNED_REFERENCE = new RegExp(
  `^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\\d{1,5})?/${REPOSITORY}|oci-layout:[\\w./-]+)@sha256:[a-f0-9]{64}$`,
);

/** A string held to `pattern`; its error says `what` was expected and what was found. */
export const strict = (pattern: RegExp, what: string) =>
  z.string().regex(pattern, { error: (issue) => `expected ${what}, found ${JSON.stringify(issue.input)}` });
export const semverString = strict(SEMVER, 'a semantic version such as 1.2.3');
export const digestString = strict(DIGEST, 'sha256: and 64 lowercase hex digits');
export const pinnedReference = strict(
  PINNED_REFERENCE,
  'an artifact reference pinned by digest (registry/repository@sha256:…)',
);
export const commitSha = strict(/^[0-9a-f]{40}$/, 'a commit sha (40 hex digits)');
/** A branch name git and GitHub accept, without spaces, control characters or markdown. */
export const branchName = strict(/^(?!.*\.\.)(?!\/)[\w./-]{1,200}$/, 'a branch name');
/** A number JSON can hold and arithmetic keeps meaning: not NaN, not infinite. */
export const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
/** A number JSON wrote as null (JSON.stringify writes NaN and ±Infinity so), read back as `value`. */
export const numberOrNull = (value: number) => z.union([z.number(), z.null().transform(() => value)]);

/** A GitHub login: letters, digits and single '-', at most 39 characters. */
export const githubLogin = strict(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub login');
