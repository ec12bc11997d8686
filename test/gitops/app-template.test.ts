import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { LIVENESS_PATH, READINESS_PATH } from '../../src/app/probes.ts';
import { operatorPolicySchema } from '../../src/core/policy.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { manifestValidator } from '../helpers/k8s-schemas.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, never>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  data?: Record<string, string>;
}
interface Container {
  command: string[];
  ports: { name: string; containerPort: number }[];
  env: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
  }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
}

function render(): Manifest[] {
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error) {
    throw new Error(
      'kubectl not found: templates/app is rendered with real kustomize; install kubectl v1.32 or newer (README, Development)',
    );
  }
  return parseAllDocuments(
    execFileSync('kubectl', ['kustomize', join(ROOT, 'templates/app')], { encoding: 'utf8' }),
  ).map((document) => document.toJS() as Manifest);
}

/** Every file under src/, as one text: to check that a name the manifests set is one the app reads. */
async function sources(directory = join(ROOT, 'src')): Promise<string> {
  const entries = await readdir(directory, { withFileTypes: true });
  const texts = await Promise.all(
    entries.map(async (entry) =>
      entry.isDirectory()
        ? sources(join(directory, entry.name))
        : entry.name.endsWith('.ts')
          ? readFile(join(directory, entry.name), 'utf8')
          : '',
    ),
  );
  return texts.join('\n');
}

describe('templates/app: the app as a platform team deploys it', () => {
  const manifests = render();
  const one = (kind: string, namespace?: string) => {
    const found = manifests.filter(
      (manifest) => manifest.kind === kind && (namespace === undefined || manifest.metadata.namespace === namespace),
    );
    expect(found, kind).toHaveLength(1);
    return found[0] as Manifest;
  };
  const deployment = one('Deployment') as Manifest & {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          serviceAccountName: string;
          containers: Container[];
          volumes: {
            name: string;
            secret?: { secretName: string; items: { key: string }[] };
            configMap?: { name: string };
          }[];
        };
      };
    };
  };
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers as [Container];

  it('renders with kustomize into manifests valid against the Kubernetes schemas', async () => {
    const validate = await manifestValidator();
    for (const manifest of manifests)
      expect(() => validate(manifest as never), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Namespace',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('runs two replicas of the built app from the image, which one disruption cannot both take', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.command).toEqual(['node', 'dist/app/server.js']);
    // dist/ is what `npm run build` (and the Dockerfile) makes of src/.
    expect(existsSync(join(ROOT, 'src/app/server.ts'))).toBe(true);
    const pdb = one('PodDisruptionBudget') as Manifest & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    for (const selector of [
      pdb.spec.selector.matchLabels,
      deployment.spec.selector.matchLabels,
      (one('Service') as Manifest & { spec: { selector: Record<string, string> } }).spec.selector,
    ]) {
      expect(
        Object.entries(selector).every(([key, value]) => pod.metadata.labels[key] === value),
        JSON.stringify(selector),
      ).toBe(true);
    }
  });

  it('probes the routes the app serves, on the port the Service sends webhooks to', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: LIVENESS_PATH, port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: READINESS_PATH, port: 'http' });
    const service = one('Service') as Manifest & { spec: { ports: { targetPort: string }[] } };
    expect(service.spec.ports[0]?.targetPort).toBe('http');
    expect(container.ports).toEqual([
      { name: 'http', containerPort: Number(container.env.find((entry) => entry.name === 'PORT')?.value) },
    ]);
  });

  it('sets only settings the app reads, from the Secrets its comment says to create', async () => {
    const text = await sources();
    for (const { name } of container.env) expect(text.includes(name), `${name} is read nowhere in src/`).toBe(true);
    const kustomization = await readFile(join(ROOT, 'templates/app/kustomization.yaml'), 'utf8');
    const keys = container.env.flatMap((entry) =>
      entry.valueFrom?.secretKeyRef ? [entry.valueFrom.secretKeyRef] : [],
    );
    const volumeKeys = pod.spec.volumes.flatMap((volume) =>
      volume.secret
        ? volume.secret.items.map((item) => ({ name: volume.secret?.secretName ?? '', key: item.key, optional: false }))
        : [],
    );
    for (const { name, key, optional } of [...keys, ...volumeKeys]) {
      expect(kustomization).toContain(`create secret generic ${name}`);
      expect(kustomization).toMatch(new RegExp(`--from-(literal|file)=${key.replace('.', '\\.')}=`));
      // Only the App's own credentials are required; the rest turn features on.
      expect(optional ?? false).toBe(name !== 'edgeship-github');
    }
    // The private key is a file, where PRIVATE_KEY_PATH says.
    const keyPath = container.env.find((entry) => entry.name === 'PRIVATE_KEY_PATH')?.value ?? '';
    expect(
      container.volumeMounts.some((mount) => mount.name === 'github' && keyPath.startsWith(`${mount.mountPath}/`)),
    ).toBe(true);
  });

  it('mounts a policy the app parses, where EDGESHIP_POLICY_FILE says', async () => {
    const file = container.env.find((entry) => entry.name === 'EDGESHIP_POLICY_FILE')?.value ?? '';
    const mount = container.volumeMounts.find((entry) => entry.name === 'policy');
    const configMap = one('ConfigMap');
    expect(pod.spec.volumes.find((volume) => volume.name === 'policy')?.configMap?.name).toBe(configMap.metadata.name);
    expect(file).toBe(`${mount?.mountPath}/${Object.keys(configMap.data ?? {})[0]}`);
    expect(() => operatorPolicySchema.parse(parse(Object.values(configMap.data ?? {})[0] ?? ''))).not.toThrow();
  });

  it("lets its service account hold the Lease the app elects on, share rollouts in a ConfigMap, and read Argo CD's Applications", async () => {
    const text = await sources();
    const account = { kind: 'ServiceAccount', name: pod.spec.serviceAccountName, namespace: 'edgeship' };
    expect(one('ServiceAccount').metadata).toMatchObject({ name: account.name, namespace: account.namespace });
    const granted = (namespace: string) => {
      const binding = one('RoleBinding', namespace);
      expect(binding.subjects).toEqual([account]);
      return one('Role', namespace).rules ?? [];
    };
    expect(granted('edgeship')).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] },
    ]);
    // The calls the elector and the shared rollouts make are those verbs: read, create, replace.
    for (const call of [
      'readNamespacedLease',
      'createNamespacedLease',
      'replaceNamespacedLease',
      'readNamespacedConfigMap',
      'createNamespacedConfigMap',
      'replaceNamespacedConfigMap',
    ])
      expect(text).toContain(call);
    expect(granted('argocd')).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(container.env.find((entry) => entry.name === 'EDGESHIP_LEASE_NAME')?.value).toBe('edgeship-app');
    expect(
      container.env
        .filter((entry) => entry.valueFrom?.fieldRef)
        .map((entry) => [entry.name, entry.valueFrom?.fieldRef?.fieldPath]),
    ).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
      // The leader writes http://<POD_IP>:<PORT> on the Lease: the other replica hands it sites' verdicts there.
      ['POD_IP', 'status.podIP'],
    ]);
  });
});
