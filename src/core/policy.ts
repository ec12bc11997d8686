import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { trustedIdentitySchema, type SigningTrust } from './signing-trust.ts';
import type { EdgeshipConfig } from './config.ts';
import { EdgeshipError } from './errors.ts';

/**
 * The operator's policy: what a model repo's config may make the app do with the operator's
 * credentials. It comes from the app's environment (EDGESHIP_POLICY_FILE), never from a model
 * repo; every adapter and service that is about to send a credential, write to a GitOps repo or
 * start a Job asks this module first. An empty policy allows nothing.
 */

const url = z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, ''));
/** `owner/name`, or `owner/*` for every repo of an owner. */
const repoPattern = z.string().regex(/^[A-Za-z0-9][\w.-]*\/(\*|[\w.-]+)$/, {
  error: (issue) => `expected owner/name or owner/*, found ${JSON.stringify(issue.input)}`,
});
const host = z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/, {
  error: (issue) =>
    `expected a registry host such as ghcr.io or registry.local:5000, found ${JSON.stringify(issue.input)}`,
});

/** A public key in PEM (SubjectPublicKeyInfo): EC P-256, P-384, P-521 or Ed25519. */
const publicKeyPem = z.string().superRefine((text, context) => {
  let key;
  try {
    key = createPublicKey(text);
  } catch {
    return void context.addIssue({
      code: 'custom',
      message: 'expected a public key in PEM (-----BEGIN PUBLIC KEY-----)',
    });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (!(
    key.asymmetricKeyType === 'ed25519' ||
    (key.asymmetricKeyType === 'ec' && curve && SIGNING_CURVES.includes(curve))
  ))
    context.addIssue({
      code: 'custom',
      message: `expected an EC P-256, P-384 or P-521 or an Ed25519 public key, found ${key.asymmetricKeyType ?? 'another'}${curve ? ` on ${curve}` : ''}`,
    });
});
const SIGNING_CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];

const trainingRule = z.strictObject({
  /** The model repos this rule is for. */
  repos: z.array(repoPattern).min(1),
  namespaces: z.array(z.string().min(1)).default([]),
  /** Image repositories (no tag or digest); an image is allowed when it is one of them at any tag or digest. */
  images: z.array(z.string().min(1)).default([]),
  serviceAccounts: z.array(z.string().min(1)).default([]),
  secrets: z.array(z.string().min(1)).default([]),
});

export const operatorPolicySchema = z.strictObject({
  kubeflow: z.strictObject({ endpoints: z.array(url).default([]) }).prefault({}),
  mlflow: z.strictObject({ trackingUris: z.array(url).default([]) }).prefault({}),
  /** OCI registries the app reads artifacts from with EDGESHIP_REGISTRY_*; `tokenRealms` are the token services their Bearer challenges may name. */
  registries: z.array(z.strictObject({ host, tokenRealms: z.array(url).default([]) })).default([]),
  gitops: z.strictObject({ repos: z.array(repoPattern).default([]) }).prefault({}),
  training: z.array(trainingRule).default([]),
  /**
   * Model repos whose releases deploy from a branch that requires no review before a merge (a
   * repo one person maintains, say). Everywhere else a release deploys only when its PR merged
   * into a branch a ruleset protects with required approving reviews.
   */
  unreviewedDeploys: z.array(repoPattern).default([]),
  /**
   * Model repos whose releases must be signed (OpenSSF model signing, with the build provenance
   * publish attaches), and who may sign them: public keys (PEM), or keyless identities (the OIDC
   * issuer and subject a Fulcio certificate names, e.g. a GitHub Actions workflow on a branch).
   * A release PR whose artifact is not signed by one of them, or was built from another commit,
   * fails its signature gate.
   */
  signing: z
    .array(
      z
        .strictObject({
          repos: z.array(repoPattern).min(1),
          trustedKeys: z.array(publicKeyPem).default([]),
          trustedIdentities: z.array(trustedIdentitySchema).default([]),
        })
        .refine((rule) => rule.trustedKeys.length + rule.trustedIdentities.length > 0, {
          error: 'expected trustedKeys or trustedIdentities: who may sign these repos’ releases',
        }),
    )
    .default([]),
  /**
   * The Sigstore trusted root (`trusted_root.json`, a file the app can read) keyless signatures
   * are checked against; without it, the public-good instance's that @sigstore/tuf ships.
   */
  sigstoreTrustedRoot: z.string().min(1).optional(),
});

export type OperatorPolicy = z.infer<typeof operatorPolicySchema>;

export const EMPTY_POLICY: OperatorPolicy = operatorPolicySchema.parse({});

/** A value a model repo names that the operator's policy does not allow. */
export class PolicyError extends EdgeshipError {
  override readonly name = 'PolicyError';
  constructor(
    /** The config setting, e.g. `train.kubeflow.endpoint`. */
    readonly setting: string,
    readonly value: string,
    /** The policy entry that would allow it, e.g. `kubeflow.endpoints`. */
    readonly entry: string,
  ) {
    // The value is a repo writer's: the message lands in check runs and comments (markdown), so
    // the characters that would make a link, an image, HTML or emphasis of it are escaped.
    const shown = JSON.stringify(value).replace(/[[\]()<>!`*_|~#]/g, (character) => `&#${character.charCodeAt(0)};`);
    super(
      `${setting}: ${shown} is not allowed by the operator policy; the operator can add it to ${entry} in EDGESHIP_POLICY_FILE`,
    );
  }
}

const sameUrl = (allowed: readonly string[], value: string) => allowed.includes(value.replace(/\/+$/, ''));
const matchesRepo = (patterns: readonly string[], repo: string) =>
  /^[\w.-]+\/[\w.-]+$/.test(repo) &&
  patterns.some((pattern) => {
    const [owner, name] = pattern.toLowerCase().split('/');
    const [repoOwner, repoName] = repo.toLowerCase().split('/');
    return owner === repoOwner && (name === '*' || name === repoName);
  });

/** The Kubeflow Pipelines endpoint of a config, when the policy lets KFP_TOKEN go there. */
export function allowKubeflowEndpoint(policy: OperatorPolicy, endpoint: string): string {
  if (!sameUrl(policy.kubeflow.endpoints, endpoint))
    throw new PolicyError('train.kubeflow.endpoint', endpoint, 'kubeflow.endpoints');
  return endpoint;
}

/** The MLflow tracking URI of a config, when the policy lets MLFLOW_TRACKING_TOKEN go there. */
export function allowMlflowUri(policy: OperatorPolicy, trackingUri: string): string {
  if (!sameUrl(policy.mlflow.trackingUris, trackingUri))
    throw new PolicyError('registry.mlflow.trackingUri', trackingUri, 'mlflow.trackingUris');
  return trackingUri;
}

/** The policy entry of a registry host, or a PolicyError naming `setting`. */
export function allowRegistry(
  policy: OperatorPolicy,
  registryHost: string,
  setting: string,
): OperatorPolicy['registries'][number] {
  const entry = policy.registries.find((candidate) => candidate.host === registryHost.toLowerCase());
  if (!entry) throw new PolicyError(setting, registryHost, 'registries[].host');
  return entry;
}

/**
 * Whether a registry's Bearer challenge may send its credentials to `realm`: a token service the
 * policy lists for it, or the registry's own origin.
 */
export function realmAllowed(policy: OperatorPolicy, registryHost: string, realm: string): boolean {
  const entry = policy.registries.find((candidate) => candidate.host === registryHost.toLowerCase());
  if (!entry) return false;
  let parsed: URL;
  try {
    parsed = new URL(realm);
  } catch {
    return false;
  }
  const target = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  return entry.tokenRealms.includes(target) || parsed.host === registryHost.toLowerCase();
}

/** Whether the operator lets this model repo deploy from a branch that requires no review. */
export const unreviewedDeployAllowed = (policy: OperatorPolicy, repo: string): boolean =>
  matchesRepo(policy.unreviewedDeploys, repo);

/**
 * Who may sign a model repo's releases, from every signing rule that names the repo; undefined
 * when none does (its releases need no signature).
 */
export function signingTrustFor(policy: OperatorPolicy, repo: string): SigningTrust | undefined {
  const rules = policy.signing.filter((rule) => matchesRepo(rule.repos, repo));
  if (rules.length === 0) return undefined;
  const identities = rules.flatMap((rule) => rule.trustedIdentities);
  return {
    keys: [...new Set(rules.flatMap((rule) => rule.trustedKeys))],
    identities: identities.filter(
      (identity, index) =>
        identities.findIndex((other) => other.issuer === identity.issuer && other.subject === identity.subject) ===
        index,
    ),
    ...(policy.sigstoreTrustedRoot && { trustedRoot: policy.sigstoreTrustedRoot }),
  };
}

/** The GitOps repo of a config, when the policy lets the app write there. */
export function allowGitopsRepo(policy: OperatorPolicy, repo: string): string {
  if (!matchesRepo(policy.gitops.repos, repo)) throw new PolicyError('gitops.repo', repo, 'gitops.repos');
  return repo;
}

/**
 * The cluster training a config asks for, checked against the rules for its repo: the KFP
 * endpoint, or the Job's namespace, image, service account and secrets. Throws the first
 * value the policy does not allow.
 */
export function checkTrainingPolicy(policy: OperatorPolicy, repo: string, config: EdgeshipConfig): void {
  const { backend, kubeflow, kubernetes } = config.train;
  if (backend === 'kubeflow' && kubeflow) allowKubeflowEndpoint(policy, kubeflow.endpoint);
  if (backend !== 'kubernetes' || !kubernetes) return;
  const rules = policy.training.filter((rule) => matchesRepo(rule.repos, repo));
  const allowed = (pick: (rule: (typeof rules)[number]) => string[], value: string) =>
    rules.some((rule) => pick(rule).includes(value));
  const entry = (field: string) => `training[] (a rule whose repos match ${repo}).${field}`;
  if (!allowed((rule) => rule.namespaces, kubernetes.namespace))
    throw new PolicyError('train.kubernetes.namespace', kubernetes.namespace, entry('namespaces'));
  const image = imageRepository(kubernetes.image);
  if (!allowed((rule) => rule.images, image))
    throw new PolicyError('train.kubernetes.image', kubernetes.image, entry('images'));
  if (kubernetes.serviceAccount && !allowed((rule) => rule.serviceAccounts, kubernetes.serviceAccount)) {
    throw new PolicyError('train.kubernetes.serviceAccount', kubernetes.serviceAccount, entry('serviceAccounts'));
  }
  for (const secret of [...kubernetes.secrets, ...kubernetes.imagePullSecrets]) {
    if (!allowed((rule) => rule.secrets, secret))
      throw new PolicyError('train.kubernetes.secrets', secret, entry('secrets'));
  }
}

/** The namespaces any training rule allows: the only ones the app watches Jobs in. */
export const allowedNamespaces = (policy: OperatorPolicy): Set<string> =>
  new Set(policy.training.flatMap((rule) => rule.namespaces));

/** `ghcr.io/acme/trainer:1.2@sha256:…` → `ghcr.io/acme/trainer`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}
