import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config-parse.ts';
import {
  allowGitopsRepo,
  allowKubeflowEndpoint,
  allowMlflowUri,
  allowRegistry,
  checkTrainingPolicy,
  EMPTY_POLICY,
  operatorPolicySchema,
  realmAllowed,
} from '../../src/core/policy.ts';

const policy = operatorPolicySchema.parse({
  kubeflow: { endpoints: ['https://kfp.internal.example/'] },
  mlflow: { trackingUris: ['https://mlflow.internal.example'] },
  registries: [{ host: 'ghcr.io', tokenRealms: ['https://ghcr.io/token'] }, { host: 'registry.local:5000' }],
  gitops: { repos: ['acme/gitops', 'plants/*'] },
  training: [
    {
      repos: ['acme/*'],
      namespaces: ['ml'],
      images: ['ghcr.io/acme/train'],
      serviceAccounts: ['trainer'],
      secrets: ['train-secrets'],
    },
  ],
});

const kubernetes = (block: string) =>
  parseConfig(
    `model: demo
train: { command: "true", backend: kubernetes, kubernetes: ${block} }
metrics: { primary: f1, direction: maximize }
gitops: { repo: acme/gitops }
artifacts: { repository: ghcr.io/acme/models }
targets: [{ name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 50 }]
`,
    'edgeship.yml',
  );

describe('the operator policy', () => {
  it.each([
    ['https://kfp.internal.example', true],
    ['https://kfp.internal.example/', true],
    ['https://kfp.internal.example.attacker.io', false],
    ['https://attacker.io/?https://kfp.internal.example', false],
    ['http://kfp.internal.example', false],
    ['https://kfp.internal.example:8443', false],
    ['https://user:pass@kfp.internal.example', false],
  ])('lets KFP_TOKEN go to %s: %s', (endpoint, allowed) => {
    const check = () => allowKubeflowEndpoint(policy, endpoint);
    if (allowed) expect(check()).toBe(endpoint);
    else
      expect(check).toThrow(
        `train.kubeflow.endpoint: ${JSON.stringify(endpoint)} is not allowed by the operator policy; the operator can add it to kubeflow.endpoints in EDGESHIP_POLICY_FILE`,
      );
  });

  it.each([
    ['https://mlflow.internal.example', true],
    ['https://mlflow.internal.example.evil.io', false],
    ['http://127.0.0.1:5000', false],
  ])('lets MLFLOW_TRACKING_TOKEN go to %s: %s', (uri, allowed) => {
    if (allowed) expect(allowMlflowUri(policy, uri)).toBe(uri);
    else expect(() => allowMlflowUri(policy, uri)).toThrow(/registry\.mlflow\.trackingUri: .* mlflow\.trackingUris/);
  });

  it.each([
    ['ghcr.io', true],
    ['GHCR.IO', true],
    ['registry.local:5000', true],
    ['registry.local', false],
    ['ghcr.io.evil.io', false],
    ['127.0.0.1:5000', false],
  ])('reads artifacts from registry %s: %s', (host, allowed) => {
    if (allowed) expect(allowRegistry(policy, host, 'artifacts.repository').host).toBe(host.toLowerCase());
    else expect(() => allowRegistry(policy, host, 'artifacts.repository')).toThrow('registries[].host');
  });

  it.each([
    ['ghcr.io', 'https://ghcr.io/token', true],
    ['ghcr.io', 'https://ghcr.io/token/', true],
    ['ghcr.io', 'https://ghcr.io/other', true], // the registry's own host
    ['ghcr.io', 'https://evil.io/token', false],
    ['ghcr.io', 'https://ghcr.io.evil.io/token', false],
    ['ghcr.io', 'not a url', false],
    ['registry.local:5000', 'http://registry.local:5000/auth', true],
    ['registry.local:5000', 'http://registry.local:5001/auth', false],
    ['docker.io', 'https://auth.docker.io/token', false], // not in the policy at all
  ])('lets the credentials of %s go to the token service %s: %s', (host, realm, allowed) => {
    expect(realmAllowed(policy, host, realm)).toBe(allowed);
  });

  it.each([
    ['acme/gitops', true],
    ['ACME/GitOps', true],
    ['plants/north', true],
    ['acme/gitops-other', false],
    ['evil/gitops', false],
    ['acme/gitops/../x', false],
  ])('writes to GitOps repo %s: %s', (repo, allowed) => {
    if (allowed) expect(allowGitopsRepo(policy, repo)).toBe(repo);
    else expect(() => allowGitopsRepo(policy, repo)).toThrow('gitops.repos');
  });

  it.each([
    ['{ namespace: ml, image: "ghcr.io/acme/train:2" }', undefined],
    [
      '{ namespace: ml, image: "ghcr.io/acme/train@sha256:' +
        'a'.repeat(64) +
        '", serviceAccount: trainer, secrets: [train-secrets] }',
      undefined,
    ],
    [
      '{ namespace: kube-system, image: "ghcr.io/acme/train:2" }',
      'train.kubernetes.namespace: "kube-system" is not allowed by the operator policy; the operator can add it to training[] (a rule whose repos match acme/pump).namespaces',
    ],
    ['{ namespace: ml, image: "ghcr.io/evil/miner:1" }', 'train.kubernetes.image: "ghcr.io/evil/miner:1"'],
    ['{ namespace: ml, image: "ghcr.io/acme/train-evil:1" }', 'train.kubernetes.image: "ghcr.io/acme/train-evil:1"'],
    [
      '{ namespace: ml, image: "ghcr.io/acme/train:2", serviceAccount: cluster-admin }',
      'train.kubernetes.serviceAccount: "cluster-admin"',
    ],
    [
      '{ namespace: ml, image: "ghcr.io/acme/train:2", secrets: [argocd-secret] }',
      'train.kubernetes.secrets: "argocd-secret"',
    ],
    [
      '{ namespace: ml, image: "ghcr.io/acme/train:2", imagePullSecrets: [other] }',
      'train.kubernetes.secrets: "other"',
    ],
  ])('lets acme/pump train with %s', (block, error) => {
    const check = () => checkTrainingPolicy(policy, 'acme/pump', kubernetes(block));
    if (error === undefined) expect(check).not.toThrow();
    else expect(check).toThrow(error);
  });

  it('allows nothing when the operator wrote none, and names the repo a rule is missing for', () => {
    expect(() =>
      checkTrainingPolicy(policy, 'other/pump', kubernetes('{ namespace: ml, image: "ghcr.io/acme/train:2" }')),
    ).toThrow('a rule whose repos match other/pump');
    expect(() => allowGitopsRepo(EMPTY_POLICY, 'acme/gitops')).toThrow('gitops.repos');
    expect(() => allowRegistry(EMPTY_POLICY, 'ghcr.io', 'artifact reference')).toThrow('registries[].host');
  });

  it('names a refused value without letting it become markdown in a check run', () => {
    expect(() =>
      checkTrainingPolicy(
        policy,
        'acme/pump',
        kubernetes('{ namespace: ml, image: "ghcr.io/x/y![a](https://evil.example/p.png)<img>" }'),
      ),
    ).toThrow(
      'train.kubernetes.image: "ghcr.io/x/y&#33;&#91;a&#93;&#40;https://evil.example/p.png&#41;&#60;img&#62;" is not allowed',
    );
  });

  it('refuses a policy file that is not one, naming the field', () => {
    expect(operatorPolicySchema.safeParse({ gitops: { repos: ['not a repo'] } }).error?.issues[0]?.message).toBe(
      'expected owner/name or owner/*, found "not a repo"',
    );
    expect(operatorPolicySchema.safeParse({ kubeflow: { endpoints: ['ftp://x'] } }).success).toBe(false);
    expect(operatorPolicySchema.safeParse({ registry: [] }).success).toBe(false);
  });
});
