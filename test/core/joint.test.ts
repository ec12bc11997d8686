import { describe, expect, it } from 'vitest';
import {
  cascadeCurve,
  chooseThreshold,
  CURVE_THRESHOLDS,
  renderJointCurve,
  type JointSample,
} from '../../src/core/joint.ts';

/** A small model right mostly when it is confident, a large one right 95% of the time: seeded, so the same every run. */
function samples(count: number, seed = 7): JointSample[] {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return Array.from({ length: count }, () => {
    const label = random() < 0.5 ? 1 : 0;
    const confidence = 0.5 + random() / 2;
    const edgeRight = random() < confidence;
    const cloudRight = random() < 0.95;
    return {
      label,
      edge: { predicted: edgeRight ? label : 1 - label, confidence },
      cloud: { predicted: cloudRight ? label : 1 - label },
    };
  });
}

describe('the cascade curve and its threshold', () => {
  const data = samples(2_000);
  const curve = cascadeCurve(data);

  it('matches the curve computed another way from the same predictions', () => {
    const independent = CURVE_THRESHOLDS.map((threshold) => {
      const sent = data.filter((sample) => sample.edge.confidence < threshold);
      const kept = data.filter((sample) => !(sample.edge.confidence < threshold));
      const right =
        sent.filter((sample) => sample.cloud.predicted === sample.label).length +
        kept.filter((sample) => sample.edge.predicted === sample.label).length;
      return { threshold, cloudShare: sent.length / data.length, accuracy: right / data.length };
    });
    expect(curve).toEqual(independent);
    // The ends: nothing sent is the edge model alone, everything sent the cloud model alone.
    expect(curve[0]).toMatchObject({ threshold: 0, cloudShare: 0 });
    expect(curve.at(-1)).toMatchObject({ cloudShare: 1 });
  });

  it('chooses the smallest cloud share within the points of cloud-only, and a fixed share', () => {
    const within = chooseThreshold(curve, { withinPoints: 0.5 });
    expect(within.point.accuracy).toBeGreaterThanOrEqual(within.cloudOnly - 0.005);
    for (const point of curve)
      if (point.cloudShare < within.point.cloudShare) expect(point.accuracy).toBeLessThan(within.cloudOnly - 0.005);
    expect(within.point.cloudShare).toBeGreaterThan(0);
    expect(within.point.cloudShare).toBeLessThan(1);
    const fixed = chooseThreshold(curve, { cloudShare: 0.3 });
    expect(fixed.point.cloudShare).toBeLessThanOrEqual(0.3);
    for (const point of curve)
      if (point.cloudShare <= 0.3) expect(point.cloudShare).toBeLessThanOrEqual(fixed.point.cloudShare);
    expect(fixed.reason).toMatch(/^the largest cloud share not over 30\.0%: \d+\.\d%, accuracy \d+\.\d%$/);
  });

  it('shows the curve as a chart with every point and a table with the chosen row', () => {
    const chosen = chooseThreshold(curve, { withinPoints: 0.5 });
    const shown = renderJointCurve(curve, chosen);
    expect(shown).toContain('xychart-beta');
    expect(shown.match(/^\| (?:\d\.\d\d|all) \|/gm)).toHaveLength(CURVE_THRESHOLDS.length);
    expect(shown.match(/\*\*chosen\*\*/g)).toHaveLength(1);
    expect(shown).toContain(`Chosen threshold ${chosen.point.threshold.toFixed(2)}`);
  });

  it('needs samples', () => {
    expect(() => cascadeCurve([])).toThrow('a cascade curve needs labelled samples');
  });
});
