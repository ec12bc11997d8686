import { describe, expect, it } from 'vitest';
import { planRelease } from '../../src/core/release-plan.ts';
import { parseEvaluationReport, type Baseline, type ModelInspection } from '../../src/core/report-schema.ts';
import { profileResult, testConfig } from '../helpers/fixtures.ts';

const inspection: ModelInspection = {
  sizeBytes: 11_097,
  sha256: '3'.repeat(64),
  irVersion: 8,
  producer: 'pytorch 2.1.0',
  contract: {
    inputs: [{ name: 'readings', dtype: 'float32', shape: ['batch', 32, 3] }],
    outputs: [{ name: 'forecast', dtype: 'float32', shape: ['batch', 3] }],
    opset: 17,
  },
  metadata: { trained_by: 'ci' },
};
const baseline: Baseline = {
  version: '1.0.0',
  reference: `ghcr.io/org/demo@sha256:${'a'.repeat(64)}`,
  digest: `sha256:${'a'.repeat(64)}`,
  metrics: { f1: 0.58, mae: 0.094 },
  contract: { ...inspection.contract, outputs: [{ name: 'forecast', dtype: 'float32', shape: ['batch', 2] }] },
  placements: { near: 'edge' },
  history: [{ version: '1.0.0', value: 0.58 }],
};

/** A report as planRelease writes it, with every optional part the schema knows. */
function fullReport() {
  const report = planRelease({
    config: testConfig(),
    inspection,
    metrics: { f1: 0.689, mae: 0.1036 },
    // A model that answered NaN: JSON writes the worst element's value and the largest error as null.
    golden: {
      passed: false,
      samples: 8,
      compared: 24,
      mismatches: 1,
      maxAbsError: Number.POSITIVE_INFINITY,
      worst: { sample: 2, output: 'forecast', index: 1, expected: 0.5, actual: Number.NaN },
      problems: ['forecast: 1 of 24 values differ'],
    },
    profiles: [
      profileResult('jetson-xavier-nx', 10.8),
      profileResult('jetson-orin-nano', 14.8),
      profileResult('cloud-cpu', 5.85),
    ],
    baseline,
    provenance: {
      trigger: 'push',
      commit: 'c0ffee'.padEnd(40, '0'),
      branch: 'main',
      runUrl: 'https://github.com/acme/pump/actions/runs/1',
      command: 'python3 train.py',
      trainedAt: '2026-11-26T07:00:00.000Z',
    },
  });
  const digest = `sha256:${'b'.repeat(64)}`;
  report.artifact = {
    reference: `ghcr.io/org/demo@${digest}`,
    digest,
    packages: { modelcar: { reference: `ghcr.io/org/demo-modelcar@${digest}`, digest, platforms: ['linux/arm64'] } },
  };
  report.approvals = { breaking: { by: 'octocat', at: '2026-11-26T08:00:00.000Z', where: '#12' } };
  return report;
}

describe('the evaluation report, one schema', () => {
  it('reads back every field a report is written with, as it was written', () => {
    const report = fullReport();
    expect(report.contractDiff?.breaking).toBe(true);
    expect(parseEvaluationReport(JSON.stringify(report), 'report.json')).toEqual(report);
  });

  it('refuses a field outside its grammar, naming it', () => {
    const report = { ...fullReport(), placement: [{ ...fullReport().placement[0], target: '../etc' }] };
    expect(() => parseEvaluationReport(JSON.stringify(report), 'report.json')).toThrow(
      /report\.json is not a valid edgeship evaluation report \(schemaVersion 1\):\n {2}- placement\[0\]\.target: expected a DNS label/,
    );
  });
});
