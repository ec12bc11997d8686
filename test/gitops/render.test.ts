import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { planGitOpsChange } from '../../src/services/apply.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { manifestValidator } from '../helpers/k8s-schemas.ts';
import { evaluationReport, exampleConfigText } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

/** Real kustomize (kubectl v1.32: kustomize v5.5), as Argo CD builds an Application path. */
function kustomize(directory: string): Manifest[] {
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error) {
    throw new Error(
      'kubectl not found: these tests render the GitOps repo with real kustomize; install kubectl v1.32 or newer (README, Development)',
    );
  }
  const text = execFileSync('kubectl', ['kustomize', directory], { encoding: 'utf8' });
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Manifest)
    .filter(Boolean);
}

/** The paths Argo CD renders: one Application per edge site (the ApplicationSet) and the cloud one. */
async function applicationPaths(repo: string): Promise<string[]> {
  const targets = await readdir(join(repo, 'targets'));
  return targets.map((file) => join(repo, 'sites', file.replace(/\.yaml$/, ''))).sort();
}

const envFromConfigMaps = (manifest: Manifest): string[] =>
  JSON.stringify(manifest.spec ?? {})
    .match(/"configMapRef":\{"name":"[^"]+"/g)
    ?.map((match) => match.slice('"configMapRef":{"name":"'.length, -1)) ?? [];

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** Two models released twice each at the same sites, as edgeship writes them, onto a copy of the template. */
async function releasedRepo(directory: string): Promise<{ repo: string; handEditedBefore: string }> {
  const repo = join(directory, 'gitops');
  await cp(join(ROOT, 'templates/gitops'), repo, { recursive: true });
  const text = await exampleConfigText();
  const base = await evaluationReport();
  const digest = (char: string) => `sha256:${char.repeat(64)}`;
  // The second release of vibration ships as images: a modelcar in the cloud, the serving image with the model at plant-north.
  const packaged = (model: string, offload: boolean) => offload && model === 'vibration';
  const image = (model: string, kind: string, char: string) => ({
    reference: `ghcr.io/acme/models/${model}@${digest(char)}`,
    digest: digest(char),
    platforms: kind === 'image' ? ['linux/amd64', 'linux/arm64'] : ['linux/amd64'],
  });
  const release = (model: string, version: string, char: string, offload: boolean): EvaluationReport => ({
    ...base,
    model,
    version: { ...base.version, version },
    artifact: {
      reference: `ghcr.io/acme/models/${model}@${digest(char)}`,
      digest: digest(char),
      ...(packaged(model, offload) && {
        packages: { modelcar: image(model, 'modelcar', 'c'), image: image(model, 'image', 'd') },
      }),
    },
    // The second release offloads substation-east and makes plant-south adaptive: structural changes of their overlays.
    placement: base.placement.map((decision) => {
      if (offload && decision.target === 'substation-east')
        return { ...decision, choice: 'offload', offloadTo: 'cloud' };
      if (offload && decision.target === 'plant-south') return { ...decision, choice: 'adaptive', offloadTo: 'cloud' };
      return decision;
    }),
  });
  const write = async (model: string, version: string, char: string, offload: boolean) => {
    const config = parseConfig(text.replace(/^model: .*$/m, `model: ${model}`), 'edgeship.yml');
    if (packaged(model, offload))
      config.targets = config.targets.map((target) =>
        target.name === 'cloud'
          ? { ...target, package: 'modelcar' }
          : target.name === 'plant-north'
            ? { ...target, package: 'image' }
            : target,
      );
    const writes = await planGitOpsChange(config, release(model, version, char, offload), {
      rollout: { status: 'done', waves: {} },
    })(async (path) => readFile(join(repo, path), 'utf8').catch(() => undefined));
    for (const { path, content } of writes) {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
    }
  };
  for (const model of MODELS) await write(model, '1.0.0', 'a', false);
  const handEditedBefore = await handEdits(repo);
  for (const model of MODELS) await write(model, '1.1.0', 'b', true);
  return { repo, handEditedBefore };
}

const MODELS = ['pump-forecaster', 'vibration'];
const HAND_EDITED = 'sites/substation-east/pump-forecaster/kustomization.yaml';
const LEGACY = 'sites/plant-north/vibration/kustomization.yaml';
const CLOUD_VIBRATION = 'sites/cloud/vibration/kustomization.yaml';
/** A site team's own env on the cloud predictor: a strategic-merge patch, as they write one for a Deployment. */
const TEAM_ENV_PATCH = [
  '  - target:',
  '      kind: InferenceService',
  '    patch: |-',
  '      apiVersion: serving.kserve.io/v1beta1',
  '      kind: InferenceService',
  '      metadata:',
  '        name: edgeship-inference',
  '      spec:',
  '        predictor:',
  '          containers:',
  '            - name: kserve-container',
  '              env:',
  '                - name: OMP_NUM_THREADS',
  '                  value: "2"',
].join('\n');
/** Lines edgeship owns in an overlay; every other line is the site team's. */
const ownedLine = (line: string) => /EDGESHIP_|edgeship\.io\/(version|placement)|\.\.\/base\//.test(line);

/**
 * What a site team adds between releases: their own generator before edgeship's, a resource, inline
 * comments; and an overlay still in the shape edgeship wrote before per-model selectors.
 */
async function handEdits(repo: string): Promise<string> {
  const edited = join(repo, HAND_EDITED);
  const text = (await readFile(edited, 'utf8'))
    .replace('resources:\n', "resources:\n  - site-settings.yaml # the site team's own\n")
    .replace(/^nameSuffix: (.*)$/m, 'nameSuffix: $1 # one per model')
    .replace(
      'configMapGenerator:\n',
      'configMapGenerator:\n  - name: site-tuning # placed first on purpose\n    literals: [EDGESHIP_MODEL_VERSION=site-default]\n',
    );
  await writeFile(edited, text);
  await writeFile(
    join(dirname(edited), 'site-settings.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site-settings\ndata:\n  shift: night\n',
  );
  const legacy = join(repo, LEGACY);
  const current = await readFile(legacy, 'utf8');
  const old = current.replace(
    / {2}- pairs:\n {6}edgeship\.io\/model: vibration\n {4}includeSelectors: true\n {2}- pairs:\n/,
    '  - pairs:\n      edgeship.io/model: vibration\n',
  );
  if (old === current) throw new Error(`${LEGACY}: the overlay no longer has the shape this test rewrites`);
  await writeFile(legacy, old);
  const cloud = join(repo, CLOUD_VIBRATION);
  await writeFile(cloud, `${(await readFile(cloud, 'utf8')).trimEnd()}\npatches:\n${TEAM_ENV_PATCH}\n`);
  return text;
}

describe('the GitOps repo rendered with real kustomize, as Argo CD builds it', () => {
  const tempDir = useTempDirs();

  it('syncs every Application in the order the manifests need: prune last, retried with backoff', async () => {
    for (const file of ['argocd/application-cloud.yaml', 'argocd/applicationset-edge.yaml']) {
      const text = await readFile(join(ROOT, 'templates/gitops', file), 'utf8');
      const definition = parseAllDocuments(text)[0]?.toJS() as {
        spec: { syncPolicy?: unknown; template?: { spec: { syncPolicy?: unknown } } };
      };
      const policy = (definition.spec.template?.spec.syncPolicy ?? definition.spec.syncPolicy) as {
        syncOptions: string[];
        retry: { limit: number; backoff: { factor: number } };
      };
      expect(policy.syncOptions, file).toEqual(
        expect.arrayContaining(['PruneLast=true', 'ServerSideApply=true', 'CreateNamespace=true']),
      );
      expect(policy.retry.limit, file).toBeGreaterThan(1);
      expect(policy.retry.backoff.factor, file).toBe(2);
    }
  });

  it('renders every Application of the pristine template: each site path exists before any release', async () => {
    const repo = join(ROOT, 'templates/gitops');
    for (const path of await applicationPaths(repo)) expect(kustomize(path), path).toEqual([]);
  });

  it('renders two models released twice at the same sites into valid objects whose references resolve and whose Services select only their model', async () => {
    const { repo, handEditedBefore } = await releasedRepo(await tempDir());
    const validate = await manifestValidator();
    const rendered = new Map(
      (await applicationPaths(repo)).map((path) => [path.split('/').pop() ?? '', kustomize(path)]),
    );
    expect([...rendered.keys()]).toEqual(['cloud', 'plant-north', 'plant-south', 'substation-east']);
    for (const [site, objects] of rendered) {
      for (const object of objects)
        expect(() => validate(object as never), `${site}: ${object.kind} ${object.metadata.name}`).not.toThrow();
      const configMaps = new Set(
        objects.filter((object) => object.kind === 'ConfigMap').map((object) => object.metadata.name),
      );
      // Every ConfigMap a workload or an InferenceService refers to is in the render (kustomize renamed both sides).
      const referring = objects.filter((object) => ['Deployment', 'InferenceService'].includes(object.kind));
      expect(referring.length, site).toBe(2);
      for (const object of referring) {
        expect(envFromConfigMaps(object), `${site}: ${object.kind} ${object.metadata.name}`).toHaveLength(1);
        for (const name of envFromConfigMaps(object))
          expect(configMaps, `${site}: ${object.metadata.name} → ${name}`).toContain(name);
      }
      // A Secret not in the render is the operator's (the drift Secret), and the pod starts without it.
      const secrets = new Set(
        objects.filter((object) => object.kind === 'Secret').map((object) => object.metadata.name),
      );
      for (const object of referring) {
        for (const [, name, optional] of JSON.stringify(object.spec).matchAll(
          /"secretRef":\{"name":"([^"]+)"(?:,"optional":(true|false))?\}/g,
        )) {
          expect(secrets.has(name!) || optional === 'true', `${site}: ${object.metadata.name} → Secret ${name}`).toBe(
            true,
          );
        }
      }
      // The model's ConfigMap syncs in the wave before its server; the one it replaces is pruned last (after the servers roll).
      for (const configMap of objects.filter((object) => object.metadata.name.startsWith('edgeship-model-'))) {
        expect(
          configMap.metadata.annotations?.['argocd.argoproj.io/sync-wave'],
          `${site}: ${configMap.metadata.name}`,
        ).toBe('-1');
      }
      // Every server runs the image base/serving-image sets (or the serving image with its model), with liveness and readiness probes.
      for (const object of referring) {
        const containers = JSON.stringify(object.spec);
        const image =
          site === 'plant-north' && object.metadata.name.endsWith('-vibration')
            ? `ghcr.io/acme/models/vibration@sha256:${'d'.repeat(64)}`
            : 'ghcr.io/edgeship/edgeship-serving:1';
        expect(
          [...containers.matchAll(/"image":"([^"]+)"/g)].map((match) => match[1]),
          `${site}: ${object.metadata.name}`,
        ).toEqual([image]);
        expect(containers).toContain('"livenessProbe"');
        expect(containers).toContain('"readinessProbe"');
        expect(probePorts(object), `${site}: ${object.metadata.name} probes the health port it opens`).toEqual([
          '8082',
          '8082',
        ]);
        if (object.kind === 'Deployment')
          expect(grpcPort(object), `${site}: ${object.metadata.name} names the gRPC port it opens`).toBe('8081');
      }
      // Each Service sends gRPC (h2c) to the pods' grpc port.
      for (const service of objects.filter((object) => object.kind === 'Service')) {
        expect((service.spec as { ports: unknown[] }).ports, `${site}: ${service.metadata.name}`).toContainEqual({
          name: 'grpc',
          port: 8081,
          targetPort: 'grpc',
          appProtocol: 'kubernetes.io/h2c',
        });
      }
      // Each Service selects the pods of its own model's Deployment, and no other's.
      const deployments = objects.filter((object) => object.kind === 'Deployment');
      for (const service of objects.filter((object) => object.kind === 'Service')) {
        const selector = (service.spec as { selector: Record<string, string> }).selector;
        const selected = deployments.filter((deployment) =>
          matches(
            selector,
            (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
              .labels,
          ),
        );
        expect(
          selected.map((deployment) => deployment.metadata.name),
          `${site}: Service ${service.metadata.name}`,
        ).toEqual([service.metadata.name]);
      }
    }
    const east = rendered.get('substation-east') ?? [];
    // Offloaded: the forwarder forwards and has no model to load.
    const forwarders = east.filter(
      (object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith('edgeship-model-'),
    );
    expect(forwarders.map((configMap) => Object.keys(configMap.data ?? {}).sort())).toEqual([
      ['EDGESHIP_MODEL_VERSION', 'EDGESHIP_OFFLOAD_URL'],
      ['EDGESHIP_MODEL_VERSION', 'EDGESHIP_OFFLOAD_URL'],
    ]);
    // Adaptive: the model to run, the cloud endpoint of its version and the budget it decides by.
    const south = rendered.get('plant-south') ?? [];
    const adaptive = south.filter(
      (object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith('edgeship-model-'),
    );
    expect(adaptive.map((configMap) => Object.keys(configMap.data ?? {}).sort())).toEqual(
      Array(2).fill(['EDGESHIP_LATENCY_BUDGET_MS', 'EDGESHIP_MODEL', 'EDGESHIP_MODEL_VERSION', 'EDGESHIP_OFFLOAD_URL']),
    );
    expect(adaptive[0]?.data).toMatchObject({
      EDGESHIP_OFFLOAD_URL: expect.stringMatching(/^https:\/\//) as string,
      EDGESHIP_LATENCY_BUDGET_MS: expect.stringMatching(/^\d+(\.\d+)?$/) as string,
    });
    for (const deployment of south.filter((object) => object.kind === 'Deployment'))
      expect(JSON.stringify(deployment.spec)).toContain(
        '"args":["serve","--port","8080","--grpc-port","8081","--health-port","8082","--adaptive"]',
      );
    // The site team's generator, resource and comments survived a release that added and removed keys.
    expect(east.map((object) => `${object.kind} ${object.metadata.name}`)).toEqual(
      expect.arrayContaining([
        'ConfigMap site-settings-pump-forecaster',
        expect.stringMatching(/^ConfigMap site-tuning-pump-forecaster-/),
      ]),
    );
    const after = await readFile(join(repo, HAND_EDITED), 'utf8');
    expect(after.split('\n').filter((line) => !ownedLine(line))).toEqual(
      handEditedBefore.split('\n').filter((line) => !ownedLine(line)),
    );
    expect(after).toContain('EDGESHIP_OFFLOAD_URL=');
    // The overlay from before per-model selectors was migrated: its model label selects (checked above for every Service).
    expect(await readFile(join(repo, LEGACY), 'utf8')).toMatch(
      /edgeship\.io\/model: vibration\n {4}includeSelectors: true/,
    );
    const cloud = rendered.get('cloud') ?? [];
    expect(
      cloud
        .filter((object) => object.kind === 'ConfigMap')
        .map((configMap) => [configMap.data?.EDGESHIP_MODEL, configMap.data?.EDGESHIP_MODEL_DIR]),
    ).toEqual([
      [`ghcr.io/acme/models/pump-forecaster@sha256:${'b'.repeat(64)}`, undefined],
      // The modelcar: KServe mounts it at /mnt/models, where the server finds the model.
      ['', '/mnt/models'],
    ]);
    const storage = (object: Manifest) =>
      JSON.stringify(object.spec).match(/"name":"STORAGE_URI","value":"([^"]+)"/)?.[1];
    expect(cloud.filter((object) => object.kind === 'InferenceService').map(storage)).toEqual([
      undefined,
      `oci://ghcr.io/acme/models/vibration@sha256:${'c'.repeat(64)}`,
    ]);
    // The site team's env patch and edgeship's modelcar both hold: merged by name, the container otherwise whole.
    const predictor = cloud.find(
      (object) => object.kind === 'InferenceService' && object.metadata.name.endsWith('-vibration'),
    )?.spec as {
      predictor: {
        containers: { name: string; image: string; args: string[]; env?: { name: string; value: string }[] }[];
      };
    };
    expect(predictor.predictor.containers).toHaveLength(1);
    expect(predictor.predictor.containers[0]).toMatchObject({
      name: 'kserve-container',
      args: ['serve', '--port', '8080', '--grpc-port', '8081', '--health-port', '8082'],
    });
    expect(predictor.predictor.containers[0]?.env?.map((entry) => entry.name).sort()).toEqual([
      'OMP_NUM_THREADS',
      'STORAGE_URI',
    ]);
    expect(await readFile(join(repo, CLOUD_VIBRATION), 'utf8')).toContain(TEAM_ENV_PATCH);
    // The serving image with the model at plant-north: the Deployment runs it, pinned by digest.
    const north = rendered.get('plant-north') ?? [];
    const images = north
      .filter((object) => object.kind === 'Deployment')
      .map((object) => [...JSON.stringify(object.spec).matchAll(/"image":"([^"]+)"/g)].map((match) => match[1]));
    expect(images).toEqual([
      ['ghcr.io/edgeship/edgeship-serving:1'],
      [`ghcr.io/acme/models/vibration@sha256:${'d'.repeat(64)}`],
    ]);
  });
});

/** The ports a server's liveness and readiness probes go to, by number, if its args open them. */
function probePorts(object: { spec?: unknown }): string[] {
  const spec = object.spec as {
    template?: { spec: { containers: Container[] } };
    predictor?: { containers: Container[] };
  };
  const [container] = spec.template?.spec.containers ?? spec.predictor?.containers ?? [];
  if (!container) return [];
  const opened = container.args?.[container.args.indexOf('--health-port') + 1];
  return [container.livenessProbe, container.readinessProbe].map((probe) => {
    const port = probe?.httpGet.port;
    const number =
      typeof port === 'number' ? port : container.ports?.find((entry) => entry.name === port)?.containerPort;
    return String(number) === opened ? String(number) : `${String(port)}, not the --health-port ${String(opened)}`;
  });
}

/** The container port named grpc, when it is the one the server's --grpc-port opens. */
function grpcPort(object: { spec?: unknown }): string {
  const [container] = (object.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
  const opened = container?.args?.[container.args.indexOf('--grpc-port') + 1];
  const named = container?.ports?.find((entry) => entry.name === 'grpc')?.containerPort;
  return String(named) === opened ? opened : `${String(named)}, not the --grpc-port ${String(opened)}`;
}

interface Container {
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet: { port: number | string } };
  readinessProbe?: { httpGet: { port: number | string } };
}
