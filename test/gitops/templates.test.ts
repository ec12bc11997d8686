import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/core/config-parse.ts';
import { PLACEMENT_BASE, resourcesPatch } from '../../src/core/overlays.ts';
import { trainingJob } from '../../src/adapters/k8s/job-manifest.ts';
import { runKey } from '../../src/core/training-run.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { manifestValidator } from '../helpers/k8s-schemas.ts';

const GITOPS = join(ROOT, 'templates/gitops');

async function yamlFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

describe('templates/gitops', () => {
  it('has manifests that pass the real schemas (kubernetes-models, Argo CD, KServe CRD)', async () => {
    const validate = await manifestValidator();
    const checked: string[] = [];
    for (const file of await yamlFiles(GITOPS)) {
      // Kustomizations and their transformer configs are not Kubernetes objects; the target inventory has its own schema (test/cli/inventory.test.ts).
      if (
        file.endsWith('kustomization.yaml') ||
        file.endsWith('kustomizeconfig.yaml') ||
        relative(GITOPS, file).startsWith('targets/')
      )
        continue;
      for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
        const manifest = document.toJS() as Record<string, unknown>;
        expect(() => validate(manifest), relative(GITOPS, file)).not.toThrow();
        checked.push(`${relative(GITOPS, file)}: ${String(manifest.kind)}`);
      }
    }
    expect(checked).toEqual([
      'argocd/application-cloud.yaml: Application',
      'argocd/applicationset-edge.yaml: ApplicationSet',
      'base/adaptive-inference/deployment.yaml: Deployment',
      'base/adaptive-inference/service.yaml: Service',
      'base/cloud-kserve/inferenceservice.yaml: InferenceService',
      'base/cloud-serving/deployment.yaml: Deployment',
      'base/cloud-serving/service.yaml: Service',
      'base/edge-inference/deployment.yaml: Deployment',
      'base/edge-inference/service.yaml: Service',
      'base/offload-forwarder/deployment.yaml: Deployment',
      'base/offload-forwarder/service.yaml: Service',
    ]);
  });

  it('the validators reject what the schemas forbid', async () => {
    const validate = await manifestValidator();
    const deployment = parse(await readFile(join(GITOPS, 'base/edge-inference/deployment.yaml'), 'utf8')) as {
      spec: { replicas: unknown };
    };
    deployment.spec.replicas = 'two';
    expect(() => validate(deployment as never)).toThrow();
    const service = parse(await readFile(join(GITOPS, 'base/cloud-kserve/inferenceservice.yaml'), 'utf8')) as {
      spec: { predictor: { minReplicas: unknown } };
    };
    service.spec.predictor.minReplicas = 'one';
    expect(() => validate(service as never)).toThrow(/InferenceService/);
  });

  it('gives each base a kustomization listing its manifests and the edgeship-model literals', async () => {
    for (const base of [...Object.values(PLACEMENT_BASE), 'cloud-serving']) {
      const kustomization = parse(await readFile(join(GITOPS, 'base', base, 'kustomization.yaml'), 'utf8')) as {
        resources: string[];
        configMapGenerator: { name: string; literals: string[] }[];
      };
      for (const resource of kustomization.resources)
        expect(await readFile(join(GITOPS, 'base', base, resource), 'utf8')).toBeTruthy();
      // The offload forwarder gets no model to load: it only forwards.
      const literals =
        base === 'offload-forwarder'
          ? ['EDGESHIP_MODEL_VERSION=', 'EDGESHIP_OFFLOAD_URL=']
          : ['EDGESHIP_MODEL=', 'EDGESHIP_MODEL_VERSION='];
      expect(kustomization.configMapGenerator[0]).toMatchObject({
        name: 'edgeship-model',
        literals: expect.arrayContaining(literals) as string[],
      });
    }
  });

  it("keeps the clients' address when a site is offloaded: both edge bases name their Service alike", async () => {
    const edge = parse(await readFile(join(GITOPS, 'base/edge-inference/service.yaml'), 'utf8')) as {
      metadata: { name: string };
    };
    const offload = parse(await readFile(join(GITOPS, 'base/offload-forwarder/service.yaml'), 'utf8')) as {
      metadata: { name: string };
    };
    const adaptive = parse(await readFile(join(GITOPS, 'base/adaptive-inference/service.yaml'), 'utf8')) as {
      metadata: { name: string };
    };
    expect(offload.metadata.name).toBe(edge.metadata.name);
    expect(adaptive.metadata.name).toBe(edge.metadata.name);
  });

  it('generates resources patches that give a valid Deployment when merged onto the base', async () => {
    const validate = await manifestValidator();
    const config = parseConfig(
      await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8'),
      'edgeship.yml',
    );
    const target = config.targets.find((candidate) => candidate.name === 'substation-east')!;
    const patch = parse(
      resourcesPatch({ model: 'pump-forecaster', target, choice: 'edge', reference: 'r', version: '1.0.0' }),
    ) as { spec: { template: { spec: { containers: { resources: unknown }[] } } } };
    const base = parse(await readFile(join(GITOPS, 'base/edge-inference/deployment.yaml'), 'utf8')) as typeof patch &
      Record<string, unknown>;
    base.spec.template.spec.containers[0]!.resources = patch.spec.template.spec.containers[0]!.resources;
    expect(() => validate(base)).not.toThrow();
    expect(base.spec.template.spec.containers[0]!.resources).toEqual({
      requests: { memory: '192Mi' },
      limits: { memory: '192Mi' },
    });
  });
});

describe('templates/training', () => {
  it('grants the app exactly what the Job backend calls, and passes the RBAC schemas', async () => {
    const validate = await manifestValidator();
    const documents = parseAllDocuments(await readFile(join(ROOT, 'templates/training/rbac.yaml'), 'utf8')).map(
      (document) => document.toJS() as Record<string, unknown>,
    );
    for (const manifest of documents) expect(() => validate(manifest)).not.toThrow();
    expect(documents.map((manifest) => manifest.kind)).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
    const role = documents[0] as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] },
    ]);
  });

  it('makes Jobs from the example config that pass the batch/v1 Job schema', async () => {
    const validate = await manifestValidator();
    const text = (await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8')).replace(
      '  backend: github-actions\n',
      '  backend: kubernetes\n  kubernetes:\n    namespace: ml\n    image: ghcr.io/acme/pump-train:1\n    serviceAccount: edgeship-trainer\n    resources: { cpu: 500m, memory: 4Gi, gpu: 2 }\n    tolerations: [{ key: nvidia.com/gpu, operator: Exists, effect: NoSchedule }]\n    imagePullSecrets: [ghcr]\n',
    );
    const config = parseConfig(text, 'edgeship.yml');
    const job = trainingJob(config.train.kubernetes!, config.train.timeoutMinutes, {
      key: runKey(config.model, 'a'.repeat(40)),
      model: config.model,
      repo: 'acme/pump',
      sha: 'a'.repeat(40),
      branch: 'release/2026.11',
      reason: 'drift',
      context: 'x'.repeat(5000),
      repoUrl: 'https://github.com/acme/pump.git',
    });
    expect(() => validate(job as Record<string, unknown>)).not.toThrow();
    expect(job.metadata?.name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(job.metadata?.labels?.['edgeship.dev/branch']).toMatch(/^[0-9a-f]{16}$/);
    expect(
      job.spec?.template.spec?.containers[0]?.env?.find((entry) => entry.name === 'EDGESHIP_CONTEXT')?.value,
    ).toHaveLength(1000);
  });
});
