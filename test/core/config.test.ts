import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/core/config-json-schema.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { wavesOf } from '../../src/core/config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { ROOT } from '../helpers/fixtures.ts';

const VALID = `model: pump
train: { command: python3 train.py }
metrics: { primary: f1, direction: maximize }
targets:
  - name: site-a
    kind: edge
    profile: jetson-xavier-nx
    memoryBudgetMb: 256
    latencyBudgetMs: 10
  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 20 }
gitops: { repo: org/gitops }
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'repo/.github/edgeship.yml');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('parses the example model repo config with defaults filled in', async () => {
    const text = await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8');
    const config = parseConfig(text, 'edgeship.yml');
    expect(config.model).toBe('pump-forecaster');
    expect(config.targets.filter((target) => target.kind === 'edge')).toHaveLength(3);
    expect(config.targets.filter((target) => target.kind === 'cloud')).toHaveLength(1);
    expect(wavesOf(config).map((wave) => wave.name)).toEqual(['canary', 'plants', 'cloud']);
  });

  it('fills defaults for omitted sections', () => {
    const config = parseConfig(VALID, 'edgeship.yml');
    expect(config.train.backend).toBe('github-actions');
    expect(config.gates.golden).toEqual({ atol: 1e-4, rtol: 1e-3 });
    expect(config.artifacts.repository).toBe('oci-layout:.edgeship/oci');
    expect(wavesOf(config)).toEqual([{ name: 'all', targets: ['site-a', 'cloud'], soakMinutes: 0 }]);
  });

  it.each([
    ['invalid YAML', VALID.replace('kind: edge', 'kind: [edge'), /line \d+, column \d+: invalid YAML/],
    ['a list at the top level', '- a\n- b\n', /expected a mapping at the top level, found a list/],
    [
      'a wrong type',
      VALID.replace('latencyBudgetMs: 10', 'latencyBudgetMs: fast'),
      /targets\[0\]\.latencyBudgetMs \(line 9\): expected number, found "fast"/,
    ],
    [
      'a missing field',
      VALID.replace('metrics: { primary: f1, direction: maximize }\n', ''),
      /metrics: expected object, found nothing \(the field is required\)/,
    ],
    [
      'an unknown field',
      VALID.replace('model: pump', 'model: pump\nmodle: x'),
      /\(top level\) \(line 1\): unknown field "modle"/,
    ],
    [
      'a bad enum',
      VALID.replace('kind: edge', 'kind: fog'),
      /targets\[0\]\.kind \(line 6\): expected one of "edge", "cloud", found "fog"/,
    ],
    [
      'a model name that escapes the GitOps path',
      VALID.replace('model: pump', 'model: ../../etc'),
      /model \(line 1\): expected a DNS label .* found "\.\.\/\.\.\/etc"/,
    ],
    [
      'a GitOps path with ..',
      VALID.replace('{ repo: org/gitops }', '{ repo: org/gitops, path: ../outside }'),
      /gitops\.path .*no '\.\.'/,
    ],
    [
      'an unknown profile',
      VALID.replace('profile: jetson-xavier-nx', 'profile: jetson-tx9'),
      /targets\[0\]\.profile \(line \d+\): expected a built-in profile \(.*jetson-xavier-nx.*\) or one declared under profiles: in this file, found "jetson-tx9"/,
    ],
    [
      'an edge target without a memory budget',
      VALID.replace('    memoryBudgetMb: 256\n', ''),
      /targets\[0\]\.memoryBudgetMb: expected a memory budget/,
    ],
    [
      'offloadTo naming an edge target',
      VALID.replace('latencyBudgetMs: 10', 'latencyBudgetMs: 10\n    offloadTo: site-a'),
      /targets\[0\]\.offloadTo \(line \d+\): expected the name of a cloud target, found "site-a"/,
    ],
    [
      'a modelcar on an edge target',
      VALID.replace('latencyBudgetMs: 10', 'latencyBudgetMs: 10\n    package: modelcar'),
      /targets\[0\]\.package \(line \d+\): expected modelcar only on a cloud target \(KServe mounts it\), found it on edge target "site-a"/,
    ],
    [
      'a package without its base image',
      VALID.replace('latencyBudgetMs: 10', 'latencyBudgetMs: 10\n    package: image'),
      /targets\[0\]\.package \(line \d+\): expected artifacts\.image\.base \(the base image to build the image from\), found none/,
    ],
    [
      'images without a registry',
      `${VALID}artifacts: { modelcar: { base: ghcr.io/acme/busybox@sha256:${'a'.repeat(64)} } }\n`,
      /artifacts\.modelcar \(line \d+\): expected artifacts\.repository to be a registry \(registry\/namespace\) to assemble the modelcar on, found "oci-layout:\.edgeship\/oci"/,
    ],
    [
      'a base image on another registry',
      `${VALID}artifacts: { repository: ghcr.io/acme, image: { base: quay.io/acme/serving@sha256:${'a'.repeat(64)} } }\n`,
      /artifacts\.image\.base \(line \d+\): expected a base image on ghcr\.io \(where artifacts go: credentials go nowhere else\), found "quay\.io\/acme\/serving@sha256:a+"/,
    ],
    [
      'a base image not pinned by digest',
      `${VALID}artifacts: { repository: ghcr.io/acme, modelcar: { base: ghcr.io/acme/busybox:latest } }\n`,
      /artifacts\.modelcar\.base \(line \d+\): expected an artifact reference pinned by digest/,
    ],
    [
      'a duplicate target',
      VALID.replace('name: cloud', 'name: site-a'),
      /targets\[1\]\.name \(line \d+\): duplicate target name "site-a"/,
    ],
    [
      'a wave naming an unknown target',
      `${VALID}rollout: { waves: [{ name: w1, targets: [site-a, nowhere] }, { name: w2, targets: [cloud] }] }\n`,
      /rollout\.waves\[0\]\.targets\[1\] \(line \d+\): expected a target name, found "nowhere"/,
    ],
    [
      'a target in no wave',
      `${VALID}rollout: { waves: [{ name: w1, targets: [site-a] }] }\n`,
      /rollout\.waves \(line \d+\): expected every target in a wave, missing cloud/,
    ],
    [
      'a kubernetes backend without its block',
      VALID.replace(
        'train: { command: python3 train.py }',
        'train: { command: python3 train.py, backend: kubernetes }\nartifacts: { repository: ghcr.io/acme }',
      ),
      /train\.kubernetes: expected a train\.kubernetes block for train\.backend: kubernetes, found none/,
    ],
    [
      'a cluster backend with a local artifact layout',
      VALID.replace(
        'train: { command: python3 train.py }',
        'train: { command: python3 train.py, backend: kubeflow, kubeflow: { endpoint: "http://kfp:8888", pipelineId: p } }',
      ),
      /artifacts\.repository: expected a registry \(registry\/namespace\) that the kubeflow run pushes to and the app reads from, found "oci-layout:\.edgeship\/oci"/,
    ],
    [
      'a Job with a bad quantity',
      VALID.replace(
        'train: { command: python3 train.py }',
        'train:\n  command: python3 train.py\n  backend: kubernetes\n  kubernetes: { namespace: ml, image: "ghcr.io/acme/train:1", resources: { memory: 16GB } }\nartifacts: { repository: ghcr.io/acme }',
      ),
      /train\.kubernetes\.resources\.memory \(line 5\): expected a Kubernetes quantity such as 500m, 4 or 16Gi, found "16GB"/,
    ],
    [
      'a Job namespace that is not a DNS label',
      VALID.replace(
        'train: { command: python3 train.py }',
        'train:\n  command: python3 train.py\n  backend: kubernetes\n  kubernetes: { namespace: ML_Team, image: "ghcr.io/acme/train:1" }\nartifacts: { repository: ghcr.io/acme }',
      ),
      /train\.kubernetes\.namespace \(line 5\): expected a DNS label/,
    ],
    [
      'a toleration with a bad effect',
      VALID.replace(
        'train: { command: python3 train.py }',
        'train:\n  command: python3 train.py\n  backend: kubernetes\n  kubernetes: { namespace: ml, image: "ghcr.io/acme/train:1", tolerations: [{ key: gpu, effect: NoRun }] }\nartifacts: { repository: ghcr.io/acme }',
      ),
      /train\.kubernetes\.tolerations\[0\]\.effect \(line 5\): expected one of "NoSchedule", "PreferNoSchedule", "NoExecute", found "NoRun"/,
    ],
    [
      'a threshold without limits',
      VALID.replace('targets:', 'gates: { thresholds: { f1: {} } }\ntargets:'),
      /gates\.thresholds\.f1.*expected `min`, `max` or both/,
    ],
  ])('rejects %s, naming the file, the path, what was expected and what was found', (_case, text, message) => {
    const error = errorOf(text);
    expect(error.file).toBe('repo/.github/edgeship.yml');
    expect(error.message).toContain('repo/.github/edgeship.yml');
    expect(error.issues.join('\n')).toMatch(message);
  });

  it('reports every problem at once', () => {
    const error = errorOf(
      VALID.replace('latencyBudgetMs: 10', 'latencyBudgetMs: -1').replace('kind: cloud', 'kind: sky'),
    );
    expect(error.issues).toHaveLength(2);
  });
});

describe('JSON Schema', () => {
  it('is committed as generated from the zod schema (npm run schema)', async () => {
    const committed = JSON.parse(await readFile(join(ROOT, 'docs/edgeship.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(configJsonSchema());
  });
});
