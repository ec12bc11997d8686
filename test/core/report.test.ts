import { describe, expect, it } from 'vitest';
import { planRelease } from '../../src/core/release-plan.ts';
import type { Baseline, ModelInspection } from '../../src/core/report-schema.ts';
import { renderReport } from '../../src/core/report.ts';
import { profileResult, testConfig } from '../helpers/fixtures.ts';

const inspection: ModelInspection = {
  sizeBytes: 11_097,
  sha256: '3'.repeat(64),
  irVersion: 8,
  producer: 'pytorch 1.13.0',
  contract: {
    inputs: [{ name: 'readings', dtype: 'float32', shape: ['batch', 32, 3] }],
    outputs: [
      { name: 'forecast', dtype: 'float32', shape: ['batch', 3] },
      { name: 'score', dtype: 'float32', shape: ['batch'] },
    ],
    opset: 17,
  },
  metadata: {},
};
const baseline: Baseline = {
  version: '1.0.0',
  reference: `ghcr.io/org/demo@sha256:${'a'.repeat(64)}`,
  digest: `sha256:${'a'.repeat(64)}`,
  metrics: { f1: 0.58, mae: 0.094 },
  contract: { ...inspection.contract, outputs: inspection.contract.outputs.slice(0, 1) },
};
const golden = { passed: true, samples: 8, compared: 24, mismatches: 0, maxAbsError: 3.8e-6, problems: [] };
const profiles = [
  profileResult('jetson-xavier-nx', 10.8, 32.2),
  profileResult('jetson-orin-nano', 14.8, 28.2),
  profileResult('cloud-cpu', 5.85, 31.9),
];

describe('renderReport', () => {
  it('renders the release PR body', async () => {
    const report = planRelease({
      config: testConfig(),
      inspection,
      metrics: { f1: 0.689, mae: 0.1036 },
      golden,
      profiles,
      baseline,
      provenance: {
        commit: 'c0ffee',
        branch: 'main',
        command: 'python3 train.py',
        trainedAt: '2026-11-26T07:00:00.000Z',
      },
    });
    report.artifact = { reference: `ghcr.io/org/demo@sha256:${'b'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}` };
    const markdown = renderReport(report);
    expect(report.version).toMatchObject({ version: '1.1.0', bump: 'minor' });
    expect(markdown).toContain('| near | 🔵 offload → cloud | 7.85 ms / 10.0 ms (79%) |');
    await expect(markdown).toMatchFileSnapshot('__snapshots__/report.md');
  });

  it("says where each edge target's capacity came from when clusters were read", () => {
    const live = new Map([
      ['near', { source: 'cluster' as const, nodes: 1, freeMemoryMb: 512, arches: ['arm64'], accelerators: [] }],
      ['far', { source: 'inventory' as const, reason: 'cluster far did not answer: connect ECONNREFUSED' }],
    ]);
    const markdown = renderReport(
      planRelease({
        config: testConfig(),
        inspection,
        metrics: { f1: 0.7 },
        golden,
        profiles,
        provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
        live,
      }),
    );
    expect(markdown).toMatch(
      /\| near \|.*\(capacity from cluster: 1 node, 512\.0 MiB free on the roomiest, arm64\) \|/,
    );
    expect(markdown).toMatch(
      /\| far \|.*\(capacity from inventory \(cluster far did not answer: connect ECONNREFUSED\)\) \|/,
    );
  });

  it("shows each target's deployed and new placement, marking a change", () => {
    const report = planRelease({
      config: testConfig(),
      inspection,
      metrics: { f1: 0.689, mae: 0.1 },
      golden,
      profiles,
      baseline: { ...baseline, placements: { near: 'edge', far: 'offload' } },
      provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
    });
    const markdown = renderReport(report);
    expect(markdown).toContain('| target | deployed → new placement |');
    // near is 8% over its budget, within the margin: it stays, and says why.
    expect(markdown).toContain('| near | edge → 🟢 edge |');
    expect(markdown).toMatch(/\| near \|.*the deployed placement stays \(hysteresis\) \|/);
    expect(markdown).toContain('| far | offload → 🟢 edge (changes) |');
    expect(markdown).toContain('| cloud | new target → ☁️ cloud |');
  });

  it('charts the primary metric over the last releases and this one', () => {
    const history = [
      { version: '0.9.0', value: 0.52 },
      { version: '1.0.0', value: 0.58 },
    ];
    const markdown = renderReport(
      planRelease({
        config: testConfig(),
        inspection,
        metrics: { f1: 0.689, mae: 0.1 },
        golden,
        profiles,
        baseline: { ...baseline, history },
        provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
      }),
    );
    const chart = markdown.slice(markdown.indexOf('### Metrics'), markdown.indexOf('| metric |'));
    expect(chart).toContain('title "f1 over the last 3 releases (higher is better)"');
    expect(chart).toContain('x-axis ["0.9.0", "1.0.0", "1.1.0 (this)"]');
    expect(chart).toContain('line [0.52, 0.58, 0.689]');
    // Without a history (the first release, or records written before it), no chart.
    expect(
      renderReport(
        planRelease({
          config: testConfig(),
          inspection,
          metrics: { f1: 0.7 },
          golden,
          profiles,
          baseline,
          provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
        }),
      ),
    ).not.toContain('over the last');
  });

  it('names the rollout waves, with the selector and share that chose a wave and its count', () => {
    const config = testConfig();
    const waves = [
      { name: 'canary', targets: ['near'], soakMinutes: 10 },
      { name: 'eu', selector: { region: 'eu' }, percent: 50, soakMinutes: 10 },
      { name: 'rest', targets: ['cloud'], soakMinutes: 10 },
    ];
    const labelled = {
      ...config,
      rollout: { waves },
      targets: config.targets.map((target) =>
        target.name === 'far' ? { ...target, labels: { region: 'eu' } } : target,
      ),
    };
    const markdown = renderReport(
      planRelease({
        config: labelled,
        inspection,
        metrics: { f1: 0.7 },
        golden,
        profiles,
        provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
      }),
    );
    expect(markdown).toContain('Rollout: **canary**: near → **eu** (region=eu, 50%): far → **rest**: cloud.');
  });

  it('says so when gates fail and nothing is deployed', () => {
    const report = planRelease({
      config: testConfig(),
      inspection,
      metrics: { f1: 0.3 },
      golden,
      profiles,
      provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
    });
    const markdown = renderReport(report);
    expect(markdown).toContain('❌ failed: f1 ≥ 0.5 · initial release: first release of this model');
    expect(markdown).toContain('- [ ] **f1 ≥ 0.5**: f1 is 0.3, below the minimum 0.5');
    expect(markdown).toContain('First release: no deployed contract to compare with.');
    expect(markdown).toContain('- artifact: not published yet');
  });

  it('names the images published next to the artifact, with their platforms', () => {
    const report = planRelease({
      config: testConfig(),
      inspection,
      metrics: { f1: 0.7 },
      golden,
      profiles,
      provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
    });
    const pinned = (char: string) => `ghcr.io/acme/demo@sha256:${char.repeat(64)}`;
    report.artifact = {
      reference: pinned('a'),
      digest: `sha256:${'a'.repeat(64)}`,
      packages: {
        modelcar: { reference: pinned('b'), digest: `sha256:${'b'.repeat(64)}`, platforms: ['linux/amd64'] },
        image: {
          reference: pinned('c'),
          digest: `sha256:${'c'.repeat(64)}`,
          platforms: ['linux/amd64', 'linux/arm64'],
        },
      },
    };
    const markdown = renderReport(report);
    expect(markdown).toContain(`- KServe modelcar: \`${pinned('b')}\` (linux/amd64)`);
    expect(markdown).toContain(`- serving image with the model: \`${pinned('c')}\` (linux/amd64, linux/arm64)`);
  });

  it('shows what triggered the run: drift evidence by its summary, anything else as it is', () => {
    const plan = (trigger: string) =>
      renderReport(
        planRelease({
          config: testConfig(),
          inspection,
          metrics: { f1: 0.7 },
          golden,
          profiles,
          provenance: { trainedAt: '2026-11-26T07:00:00.000Z', trigger },
        }),
      );
    expect(plan(JSON.stringify({ site: 'plant-north', summary: 'drift at plant-north: temperature=0.31' }))).toContain(
      '- trigger: drift at plant-north&#58; temperature=0.31',
    );
    expect(plan('retrain requested by @ana in #12')).toContain('- trigger: retrain requested by @ana in &#35;12');
    // Whatever a site or a branch sends is text: no image, link, HTML or heading reaches the body.
    const hostile = plan(
      JSON.stringify({
        summary: '![x](https://evil.example/p.png) <img src=x> [ok](https://evil.example)\n## ✅ all gates passed',
      }),
    );
    expect(hostile).toContain(
      '- trigger: &#33;&#91;x&#93;&#40;https&#58;//evil.example/p.png&#41; &#60;img src=x&#62; &#91;ok&#93;&#40;https&#58;//evil.example&#41; &#35;&#35; ✅ all gates passed',
    );
    expect(hostile).not.toMatch(/<img|!\[|\]\(|\n## ✅/);
  });
});
