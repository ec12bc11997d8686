import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/core/config-parse.ts';
import { PLACEMENT_BASE, resourcesPatch } from '../../src/core/overlays.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { manifestValidator } from '../helpers/k8s-schemas.ts';

const GITOPS = join(ROOT, 'templates/gitops');

async function yamlFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.yaml')).map((entry) => join(entry.parentPath, entry.name)).sort();
}

describe('templates/gitops', () => {
  it('has manifests that pass the real schemas (kubernetes-models, Argo CD, KServe CRD)', async () => {
    const validate = await manifestValidator();
    const checked: string[] = [];
    for (const file of await yamlFiles(GITOPS)) {
      // Kustomizations are not Kubernetes objects; the target inventory has its own schema (test/cli/inventory.test.ts).
      if (file.endsWith('kustomization.yaml') || relative(GITOPS, file).startsWith('targets/')) continue;
      for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
        const manifest = document.toJS() as Record<string, unknown>;
        expect(() => validate(manifest), relative(GITOPS, file)).not.toThrow();
        checked.push(`${relative(GITOPS, file)}: ${String(manifest.kind)}`);
      }
    }
    expect(checked).toEqual([
      'argocd/application-cloud.yaml: Application',
      'argocd/applicationset-edge.yaml: ApplicationSet',
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
    const deployment = parse(await readFile(join(GITOPS, 'base/edge-inference/deployment.yaml'), 'utf8')) as { spec: { replicas: unknown } };
    deployment.spec.replicas = 'two';
    expect(() => validate(deployment as never)).toThrow();
    const service = parse(await readFile(join(GITOPS, 'base/cloud-kserve/inferenceservice.yaml'), 'utf8')) as { spec: { predictor: { minReplicas: unknown } } };
    service.spec.predictor.minReplicas = 'one';
    expect(() => validate(service as never)).toThrow(/InferenceService/);
  });

  it('gives each base a kustomization listing its manifests and the edgeship-model literals', async () => {
    for (const base of [...Object.values(PLACEMENT_BASE), 'cloud-serving']) {
      const kustomization = parse(await readFile(join(GITOPS, 'base', base, 'kustomization.yaml'), 'utf8')) as { resources: string[]; configMapGenerator: { name: string; literals: string[] }[] };
      for (const resource of kustomization.resources) expect(await readFile(join(GITOPS, 'base', base, resource), 'utf8')).toBeTruthy();
      expect(kustomization.configMapGenerator[0]).toMatchObject({ name: 'edgeship-model', literals: expect.arrayContaining(['EDGESHIP_MODEL=', 'EDGESHIP_MODEL_VERSION=']) as string[] });
    }
  });

  it('keeps the clients\' address when a site is offloaded: both edge bases name their Service alike', async () => {
    const edge = parse(await readFile(join(GITOPS, 'base/edge-inference/service.yaml'), 'utf8')) as { metadata: { name: string } };
    const offload = parse(await readFile(join(GITOPS, 'base/offload-forwarder/service.yaml'), 'utf8')) as { metadata: { name: string } };
    expect(offload.metadata.name).toBe(edge.metadata.name);
  });

  it('generates resources patches that give a valid Deployment when merged onto the base', async () => {
    const validate = await manifestValidator();
    const config = parseConfig(await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8'), 'edgeship.yml');
    const target = config.targets.find((candidate) => candidate.name === 'substation-east')!;
    const patch = parse(resourcesPatch({ model: 'pump-forecaster', target, choice: 'edge', reference: 'r', version: '1.0.0' })) as { spec: { template: { spec: { containers: { resources: unknown }[] } } } };
    const base = parse(await readFile(join(GITOPS, 'base/edge-inference/deployment.yaml'), 'utf8')) as typeof patch & Record<string, unknown>;
    base.spec.template.spec.containers[0]!.resources = patch.spec.template.spec.containers[0]!.resources;
    expect(() => validate(base)).not.toThrow();
    expect(base.spec.template.spec.containers[0]!.resources).toEqual({ requests: { memory: '192Mi' }, limits: { memory: '192Mi' } });
  });
});
