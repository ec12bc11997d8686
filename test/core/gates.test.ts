import { describe, expect, it } from 'vitest';
import { allowBreaking, evaluateGates, gatesPassed, type GateInputs } from '../../src/core/gates.ts';
import type { GoldenResult } from '../../src/core/golden.ts';
import { testConfig } from '../helpers/fixtures.ts';

const golden: GoldenResult = { passed: true, samples: 2, compared: 6, mismatches: 0, maxAbsError: 1e-6, problems: [] };
const inputs = (overrides: Partial<GateInputs> = {}): GateInputs => ({
  config: testConfig(),
  metrics: { f1: 0.8 },
  golden,
  placement: [],
  ...overrides,
});
const gate = (gates: ReturnType<typeof evaluateGates>, id: string) => gates.find((candidate) => candidate.id === id);

describe('evaluateGates', () => {
  it('passes a first release that meets its thresholds', () => {
    const gates = evaluateGates(inputs());
    expect(gatesPassed(gates)).toBe(true);
    expect(gates.map((candidate) => candidate.id)).toEqual([
      'threshold:f1',
      'regression',
      'golden',
      'contract',
      'placement',
    ]);
    expect(gate(gates, 'regression')?.reason).toBe('nothing deployed to compare with');
  });

  it.each([
    [{ metrics: { f1: 0.4 } }, 'threshold:f1', 'f1 is 0.4, below the minimum 0.5'],
    [{ metrics: { f1: 0.8 }, baselineMetrics: { f1: 0.9 } }, 'regression', '0.9 → 0.8 is 11.11% worse than deployed'],
    [
      {
        golden: {
          ...golden,
          passed: false,
          mismatches: 1,
          worst: { sample: 1, output: 'y', index: 2, expected: 1, actual: 2 },
        },
      },
      'golden',
      '1 of 6 values differ; worst: sample 1 y[2] expected 1, got 2',
    ],
    [
      {
        contract: { breaking: true, changes: [{ severity: 'breaking', detail: 'input "x" removed' }] },
        configMayAllowBreaking: false,
      },
      'contract',
      'breaking: input "x" removed; approve it for this release with `/edgeship allow-breaking` on its PR',
    ],
    [
      {
        contract: { breaking: true, changes: [{ severity: 'breaking', detail: 'input "x" removed' }] },
        version: '2.0.0',
      },
      'contract',
      'breaking: input "x" removed; approve it with `gates: { allowBreakingContract: "2.0.0" }` in .github/edgeship.yml (the local loop; on GitHub, `/edgeship allow-breaking` on its PR)',
    ],
    [
      { placement: [{ target: 'near', kind: 'edge', choice: 'blocked', latencyBudgetMs: 10, reason: 'too slow' }] },
      'placement',
      'blocked: near (too slow)',
    ],
  ] as const)('fails with a reason (%#)', (overrides, id, reason) => {
    const gates = evaluateGates(inputs(overrides as Partial<GateInputs>));
    expect(gate(gates, id)).toMatchObject({ passed: false, reason });
    expect(gatesPassed(gates)).toBe(false);
  });

  it('allows a small regression within maxRegression', () => {
    expect(
      gate(evaluateGates(inputs({ metrics: { f1: 0.89 }, baselineMetrics: { f1: 0.9 } })), 'regression')?.passed,
    ).toBe(true);
  });

  it('measures regression the other way for metrics to minimize', () => {
    const config = testConfig();
    const minimize = {
      ...config,
      metrics: { primary: 'f1', direction: 'minimize' as const },
      gates: { ...config.gates, thresholds: {} },
    };
    expect(
      gate(
        evaluateGates(inputs({ config: minimize, metrics: { f1: 0.5 }, baselineMetrics: { f1: 0.4 } })),
        'regression',
      )?.passed,
    ).toBe(false);
    expect(
      gate(
        evaluateGates(inputs({ config: minimize, metrics: { f1: 0.3 }, baselineMetrics: { f1: 0.4 } })),
        'regression',
      )?.passed,
    ).toBe(true);
  });

  it('fails a threshold on a metric that training did not write', () => {
    expect(gate(evaluateGates(inputs({ metrics: { other: 1 } })), 'threshold:f1')).toMatchObject({
      passed: false,
      reason: 'metrics.json has no "f1"',
    });
  });

  it('lets the one breaking release allowBreakingContract names through, saying so, and no other', () => {
    const config = testConfig();
    const allowing = (allowed: string | boolean) => ({
      ...config,
      gates: { ...config.gates, allowBreakingContract: allowed },
    });
    const contract = { breaking: true, changes: [{ severity: 'breaking' as const, detail: 'input "x" removed' }] };
    expect(
      gate(evaluateGates(inputs({ config: allowing('2.0.0'), contract, version: '2.0.0' })), 'contract'),
    ).toMatchObject({
      passed: true,
      reason: 'breaking (input "x" removed), allowed for 2.0.0 by gates.allowBreakingContract (local loop)',
    });
    // Left in the config, it does not let the next breaking change through.
    expect(
      gate(evaluateGates(inputs({ config: allowing('2.0.0'), contract, version: '3.0.0' })), 'contract'),
    ).toMatchObject({
      passed: false,
      reason:
        'breaking: input "x" removed; approve it with `gates: { allowBreakingContract: "3.0.0" }` in .github/edgeship.yml (gates.allowBreakingContract allows 2.0.0, not 3.0.0) (the local loop; on GitHub, `/edgeship allow-breaking` on its PR)',
    });
    // `true` would stay on for every breaking change after: it allows none, and says what to write.
    expect(
      gate(evaluateGates(inputs({ config: allowing(true), contract, version: '2.0.0' })), 'contract'),
    ).toMatchObject({
      passed: false,
      reason: expect.stringContaining(
        '`gates: { allowBreakingContract: "2.0.0" }` in .github/edgeship.yml (gates.allowBreakingContract: true allows no release',
      ) as string,
    });
    // On GitHub the flag does not count: each breaking release is approved on its PR.
    const onGitHub = evaluateGates(
      inputs({ config: allowing('2.0.0'), contract, version: '2.0.0', configMayAllowBreaking: false }),
    );
    expect(gate(onGitHub, 'contract')).toMatchObject({
      passed: false,
      reason: expect.stringContaining('(gates.allowBreakingContract counts in the local loop only)') as string,
    });
    expect(
      gate(allowBreaking(onGitHub, contract, { by: 'octocat', at: '2026-11-29T12:00:00Z', where: '#7' }), 'contract'),
    ).toEqual({
      id: 'contract',
      title: 'Contract compatible with deployed clients',
      passed: true,
      reason: 'breaking (input "x" removed), allowed by @octocat in #7',
    });
  });
});
