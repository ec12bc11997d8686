import { z } from 'zod';

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
