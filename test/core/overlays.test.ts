import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Target } from '../../src/core/config.ts';
import { editOverlay, writeOverlay, writeSiteKustomization, type OverlaySpec } from '../../src/core/overlays.ts';

const site: Target = {
  name: 'plant-north',
  kind: 'edge',
  profile: 'jetson-orin-nano',
  latencyBudgetMs: 25,
  memoryBudgetMb: 256,
  rttMs: 35,
};
const spec = (overrides: Partial<OverlaySpec> = {}): OverlaySpec => ({
  model: 'pump',
  target: site,
  choice: 'edge',
  reference: `ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
  version: '1.0.0',
  ...overrides,
});
interface Overlay {
  resources: string[];
  nameSuffix: string;
  labels: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  configMapGenerator: { name: string; behavior: string; literals: string[] }[];
  patches?: { path: string }[];
}

describe('writeOverlay', () => {
  it('creates an overlay on the base of the placement, with the model pinned by digest', () => {
    const overlay = parse(writeOverlay(undefined, spec())) as Overlay;
    expect(overlay).toMatchObject({
      resources: ['../../../base/edge-inference'],
      nameSuffix: '-pump',
      // The model label selects, so models at one site do not share traffic; the version does not
      // (a Deployment's selector cannot change between releases).
      labels: [
        { pairs: { 'edgeship.io/model': 'pump' }, includeSelectors: true },
        { pairs: { 'edgeship.io/version': '1.0.0', 'edgeship.io/placement': 'edge' } },
      ],
      configMapGenerator: [
        {
          name: 'edgeship-model',
          behavior: 'merge',
          literals: [`EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`, 'EDGESHIP_MODEL_VERSION=1.0.0'],
        },
      ],
      patches: [{ path: 'edgeship-resources.yaml' }],
    });
  });

  it('switches a site to adaptive with the model, the cloud URL, the budget and the CPU ceiling, and back to edge', () => {
    const edge = writeOverlay(undefined, spec());
    const adaptive = writeOverlay(
      edge,
      spec({
        choice: 'adaptive',
        target: { ...site, maxLocalCpu: 0.3 },
        version: '1.1.0',
        offloadUrl: 'https://models.example/pump',
      }),
    );
    expect(parse(adaptive)).toMatchObject({
      resources: ['../../../base/adaptive-inference'],
      labels: [{}, { pairs: { 'edgeship.io/placement': 'adaptive' } }],
      configMapGenerator: [
        {
          literals: [
            `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
            'EDGESHIP_MODEL_VERSION=1.1.0',
            'EDGESHIP_OFFLOAD_URL=https://models.example/pump',
            'EDGESHIP_LATENCY_BUDGET_MS=25',
            'EDGESHIP_MAX_LOCAL_CPU=0.3',
          ],
        },
      ],
    });
    const back = parse(writeOverlay(adaptive, spec({ version: '1.2.0' }))) as Overlay;
    expect(back.resources).toEqual(['../../../base/edge-inference']);
    expect(back.configMapGenerator[0]?.literals).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
      'EDGESHIP_MODEL_VERSION=1.2.0',
    ]);
  });

  it('turns batching off where the model runs when the config says serving.batching: false, and on again after', () => {
    const literals = (text: string) => (parse(text) as Overlay).configMapGenerator[0]?.literals ?? [];
    const off = writeOverlay(undefined, spec({ batching: false }));
    expect(literals(off)).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
      'EDGESHIP_MODEL_VERSION=1.0.0',
      'EDGESHIP_MAX_BATCH_ROWS=0',
    ]);
    // A second release over it keeps it off; a forwarder runs no model, so it has nothing to turn off.
    expect(literals(writeOverlay(off, spec({ batching: false, version: '1.1.0' })))).toContain(
      'EDGESHIP_MAX_BATCH_ROWS=0',
    );
    expect(
      literals(
        writeOverlay(off, spec({ batching: false, choice: 'offload', offloadUrl: 'https://models.example/pump' })),
      ),
    ).not.toContain('EDGESHIP_MAX_BATCH_ROWS=0');
    expect(literals(writeOverlay(off, spec({ version: '1.1.0' })))).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
      'EDGESHIP_MODEL_VERSION=1.1.0',
    ]);
  });

  it('runs the serving image that carries the model when the target takes the package, and the artifact again when it does not', () => {
    const image = `ghcr.io/acme/pump@sha256:${'d'.repeat(64)}`;
    const packaged = writeOverlay(writeOverlay(undefined, spec()), spec({ version: '1.1.0', package: image }));
    expect(parse(packaged)).toMatchObject({
      patches: [
        { path: 'edgeship-resources.yaml' },
        {
          target: { kind: 'Deployment' },
          patch: JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }]),
        },
      ],
      // The image's model is checked against the artifact's signatures at a site that trusts signers.
      configMapGenerator: [
        {
          literals: [
            'EDGESHIP_MODEL_VERSION=1.1.0',
            'EDGESHIP_MODEL_DIR=/models',
            `EDGESHIP_MODEL_ARTIFACT=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
          ],
        },
      ],
    });
    const back = parse(writeOverlay(packaged, spec({ version: '1.2.0' }))) as Overlay;
    expect(back.patches).toEqual([{ path: 'edgeship-resources.yaml' }]);
    expect(back.configMapGenerator[0]?.literals).toEqual([
      'EDGESHIP_MODEL_VERSION=1.2.0',
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
    ]);
    expect(() => writeOverlay(undefined, spec({ package: 'ghcr.io/acme/pump:latest' }))).toThrow(
      'refusing image "ghcr.io/acme/pump:latest": expected an image on a registry pinned by digest',
    );
  });

  it('switches an offloaded site to the forwarder with the cloud URL, and back', () => {
    const edge = writeOverlay(undefined, spec());
    const offloaded = writeOverlay(
      edge,
      spec({ choice: 'offload', version: '1.1.0', offloadUrl: 'https://models.example/pump' }),
    );
    expect(parse(offloaded)).toMatchObject({
      resources: ['../../../base/offload-forwarder'],
      // The forwarder gets no model to load.
      configMapGenerator: [
        { literals: ['EDGESHIP_MODEL_VERSION=1.1.0', 'EDGESHIP_OFFLOAD_URL=https://models.example/pump'] },
      ],
    });
    const back = parse(writeOverlay(offloaded, spec({ version: '1.2.0' }))) as Overlay;
    expect(back.resources).toEqual(['../../../base/edge-inference']);
    expect(back.configMapGenerator[0]?.literals).toEqual([
      'EDGESHIP_MODEL_VERSION=1.2.0',
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
    ]);
  });

  it("finds what it owns by name: a person's generator, resource or labels placed first are left alone", () => {
    const human = writeOverlay(undefined, spec())
      .replace('resources:\n', 'resources:\n  - extra-sidecar.yaml # metrics exporter\n')
      .replace('labels:\n', 'labels:\n  - pairs: { team: pumps } # ours\n')
      .replace(
        'configMapGenerator:\n',
        'configMapGenerator:\n  - name: site-settings # ours\n    literals: [EDGESHIP_MODEL_VERSION=site-default]\n',
      );
    const next = parse(
      writeOverlay(human, spec({ version: '1.0.1', reference: `ghcr.io/acme/pump@sha256:${'b'.repeat(64)}` })),
    ) as Overlay;
    expect(next.resources).toEqual(['extra-sidecar.yaml', '../../../base/edge-inference']);
    expect(next.labels[0]).toEqual({ pairs: { team: 'pumps' } });
    expect(next.configMapGenerator[0]).toEqual({
      name: 'site-settings',
      literals: ['EDGESHIP_MODEL_VERSION=site-default'],
    });
    expect(next.configMapGenerator[1]?.literals).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'b'.repeat(64)}`,
      'EDGESHIP_MODEL_VERSION=1.0.1',
    ]);
    expect(next.labels[2]?.pairs).toEqual({ 'edgeship.io/version': '1.0.1', 'edgeship.io/placement': 'edge' });
  });

  it("keeps a person's comments, resources and patches, byte for byte on a version bump", () => {
    const human = writeOverlay(undefined, spec())
      .replace('resources:\n', 'resources:\n  # the model first, then ours\n')
      .replace(
        '  - ../../../base/edge-inference\n',
        '  - ../../../base/edge-inference\n  - extra-sidecar.yaml # metrics exporter\n',
      )
      .concat('# tuned by the site team\n');
    const next = writeOverlay(
      human,
      spec({ version: '1.0.1', reference: `ghcr.io/acme/pump@sha256:${'b'.repeat(64)}` }),
    );
    expect(next).toBe(human.replace(/1\.0\.0/g, '1.0.1').replace('a'.repeat(64), 'b'.repeat(64)));
  });

  it('keeps every other line byte for byte when a placement change adds and removes keys: inline comments, flow style, anchors', () => {
    const owned = (line: string) => /EDGESHIP_|edgeship\.io\/(version|placement)|\.\.\/base\//.test(line);
    const human = writeOverlay(undefined, spec())
      .replace(
        'nameSuffix: -pump\n',
        'nameSuffix: -pump # one suffix per model\nreplicas: &one [{ name: edgeship-inference, count: 1 }]\n',
      )
      .replace('      edgeship.io/model: pump\n', '      edgeship.io/model: pump # selects this model only\n')
      .concat('commonAnnotations: { owner: site-team, copy: *one } # ours\n');
    const offloaded = writeOverlay(
      human,
      spec({ choice: 'offload', version: '1.1.0', offloadUrl: 'https://models.example/pump' }),
    );
    expect(offloaded.split('\n').filter((line) => !owned(line))).toEqual(
      human.split('\n').filter((line) => !owned(line)),
    );
    expect(parse(offloaded)).toMatchObject({
      resources: ['../../../base/offload-forwarder'],
      configMapGenerator: [
        { literals: ['EDGESHIP_MODEL_VERSION=1.1.0', 'EDGESHIP_OFFLOAD_URL=https://models.example/pump'] },
      ],
    });
    const back = writeOverlay(offloaded, spec({ version: '1.2.0' }));
    expect(back.split('\n').filter((line) => !owned(line))).toEqual(human.split('\n').filter((line) => !owned(line)));
  });

  it('migrates an overlay written before per-model selectors: the model label moves to its own selecting entry, every other line stays', () => {
    const legacy = [
      '# pump at plant-north, written by edgeship.',
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - ../../../base/edge-inference',
      'nameSuffix: -pump # one per model',
      'labels:',
      '  - pairs:',
      '      edgeship.io/model: pump',
      '      edgeship.io/version: 1.0.0',
      '      edgeship.io/placement: edge',
      'configMapGenerator:',
      '  - name: edgeship-model',
      '    behavior: merge',
      '    literals:',
      `      - EDGESHIP_MODEL=ghcr.io/acme/pump@sha256:${'a'.repeat(64)}`,
      '      - EDGESHIP_MODEL_VERSION=1.0.0 # bumped by edgeship',
      'patches:',
      '  - path: edgeship-resources.yaml',
      '',
    ].join('\n');
    const next = writeOverlay(legacy, spec({ version: '1.1.0' }));
    expect((parse(next) as Overlay).labels).toEqual([
      { pairs: { 'edgeship.io/version': '1.1.0', 'edgeship.io/placement': 'edge' } },
      { pairs: { 'edgeship.io/model': 'pump' }, includeSelectors: true },
    ]);
    const untouched = (text: string) =>
      text
        .split('\n')
        .filter((line) => !/edgeship\.io\/|includeSelectors|- pairs:/.test(line))
        .map((line) => line.replace('1.1.0', '1.0.0'));
    expect(untouched(next)).toEqual(untouched(legacy));
    expect(next).toContain('EDGESHIP_MODEL_VERSION=1.1.0 # bumped by edgeship');
    // Migrated once: the next release is a plain version bump.
    expect(writeOverlay(next, spec({ version: '1.2.0' }))).toBe(next.replace(/1\.1\.0/g, '1.2.0'));
  });

  const cloudTarget: Target = {
    name: 'cloud',
    kind: 'cloud',
    profile: 'cloud-cpu',
    latencyBudgetMs: 50,
    rttMs: 0,
    endpoint: 'https://models.example/pump',
  };
  const url = 'https://models.example/pump';
  const next = (overrides: Partial<OverlaySpec>) =>
    spec({ version: '1.1.0', reference: `ghcr.io/acme/pump@sha256:${'b'.repeat(64)}`, ...overrides });
  const image = `ghcr.io/acme/pump-serving@sha256:${'c'.repeat(64)}`;
  it.each<[string, OverlaySpec, OverlaySpec]>([
    ['a version bump at the edge', spec(), next({})],
    ['edge to offload', spec(), next({ choice: 'offload', offloadUrl: url })],
    ['offload to edge', spec({ choice: 'offload', offloadUrl: url }), next({})],
    [
      'offload to offload, a new cloud URL',
      spec({ choice: 'offload', offloadUrl: url }),
      next({ choice: 'offload', offloadUrl: 'https://other.example/pump' }),
    ],
    ['edge to adaptive', spec(), next({ choice: 'adaptive', offloadUrl: url, target: { ...site, maxLocalCpu: 0.5 } })],
    [
      'adaptive, a new budget',
      spec({ choice: 'adaptive', offloadUrl: url }),
      next({ choice: 'adaptive', offloadUrl: url, target: { ...site, latencyBudgetMs: 40 } }),
    ],
    ['edge to a serving image', spec(), next({ package: image })],
    [
      'a serving image to the next',
      spec({ package: image }),
      next({ package: image.replace('c'.repeat(64), 'd'.repeat(64)) }),
    ],
    [
      'the cloud with versions retained',
      spec({ target: cloudTarget, choice: 'cloud' }),
      next({
        target: cloudTarget,
        choice: 'cloud',
        retained: [{ version: '1.0.0', reference: `ghcr.io/acme/pump@sha256:${'a'.repeat(64)}` }],
      }),
    ],
    [
      'the cloud with a modelcar',
      spec({ target: cloudTarget, choice: 'cloud' }),
      next({ target: cloudTarget, choice: 'cloud', package: image }),
    ],
  ])('writes an overlay nobody edited (%s) as the careful path writes it, byte for byte', (_case, before, after) => {
    const untouched = writeOverlay(undefined, before);
    expect(writeOverlay(untouched, after)).toBe(editOverlay(untouched, after));
  });

  it('takes the careful path for an overlay a person edited, even on a line edgeship owns', () => {
    const base = writeOverlay(undefined, spec());
    const commented = base.replace('edgeship.io/version: 1.0.0', 'edgeship.io/version: 1.0.0 # pinned by hand?');
    expect(writeOverlay(commented, next({}))).toContain('edgeship.io/version: 1.1.0 # pinned by hand?');
    const flow = base.replace('edgeship.io/placement: edge', 'edgeship.io/placement: "edge"');
    expect(writeOverlay(flow, next({}))).toBe(editOverlay(flow, next({})));
    const broken = base.replace('edgeship.io/version: 1.0.0', 'edgeship.io/version: [1.0.0');
    expect(() => writeOverlay(broken, next({}))).toThrow(/sites\/plant-north\/pump\/kustomization\.yaml: invalid YAML/);
  });

  it('returns the same text when nothing changes', () => {
    const text = writeOverlay(undefined, spec());
    expect(writeOverlay(text, spec())).toBe(text);
  });

  it('gives cloud targets the KServe base and no resources patch', () => {
    const cloud: Target = { name: 'cloud', kind: 'cloud', profile: 'cloud-cpu', latencyBudgetMs: 10, rttMs: 0 };
    const overlay = parse(writeOverlay(undefined, spec({ target: cloud, choice: 'cloud' }))) as Overlay;
    expect(overlay.resources).toEqual(['../../../base/cloud-kserve']);
    expect(overlay.patches).toBeUndefined();
  });
});

describe('writeSiteKustomization', () => {
  it('lists each model once and keeps what else is there', () => {
    const first = writeSiteKustomization(undefined, 'plant-north', 'pump');
    expect(parse(first)).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['pump'],
    });
    const human = first.replace('resources:\n', 'resources:\n  - monitoring # ours\n');
    const both = writeSiteKustomization(human, 'plant-north', 'fan');
    expect((parse(both) as { resources: string[] }).resources).toEqual(['monitoring', 'pump', 'fan']);
    expect(both).toContain('- monitoring # ours');
    expect(writeSiteKustomization(both, 'plant-north', 'pump')).toBe(both);
  });
});
