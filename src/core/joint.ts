import { z } from 'zod';

/**
 * Joint inference: a small model at the edge answers the requests it is confident about and sends
 * the others to a large model in the cloud. Everything here is pure: the curve of accuracy against
 * the share sent to the cloud over a labelled evaluation set, the threshold a rule chooses on it,
 * and how the report shows both.
 */

/** One labelled evaluation example: the label, the edge model's answer and confidence, the cloud's answer. */
export interface JointSample {
  label: number;
  edge: { predicted: number; confidence: number };
  cloud: { predicted: number };
}

/** The cascade at one threshold: requests with a confidence under it go to the cloud. */
export interface CurvePoint {
  threshold: number;
  /** Share of the requests sent to the cloud, 0–1. */
  cloudShare: number;
  /** Share answered correctly by the pair, 0–1. */
  accuracy: number;
}

/** How the threshold is chosen: the smallest cloud share within `withinPoints` of cloud-only accuracy, or a fixed share. */
export const jointRuleSchema = z.union([
  z.strictObject({
    withinPoints: z
      .number()
      .nonnegative()
      .max(100)
      .describe(
        'Accuracy points the pair may lose against the cloud model alone: the smallest cloud share that keeps within them.',
      ),
  }),
  z.strictObject({
    cloudShare: z.number().min(0).max(1).describe('The share of requests to send to the cloud, at most.'),
  }),
]);
export type JointRule = z.infer<typeof jointRuleSchema>;

/** Thresholds the curve is drawn at: 0 (nothing sent) to 1 in steps of 0.05, and just over 1 (everything sent). */
export const CURVE_THRESHOLDS: readonly number[] = [
  ...Array.from({ length: 21 }, (_, step) => Number((step * 0.05).toFixed(2))),
  Number.POSITIVE_INFINITY,
];

/** The pair's accuracy and cloud share at each threshold, in the order of the thresholds. */
export function cascadeCurve(samples: readonly JointSample[], thresholds = CURVE_THRESHOLDS): CurvePoint[] {
  if (samples.length === 0) throw new RangeError('a cascade curve needs labelled samples');
  return thresholds.map((threshold) => {
    let sent = 0;
    let correct = 0;
    for (const sample of samples) {
      const toCloud = sample.edge.confidence < threshold;
      if (toCloud) sent += 1;
      if ((toCloud ? sample.cloud.predicted : sample.edge.predicted) === sample.label) correct += 1;
    }
    return { threshold, cloudShare: sent / samples.length, accuracy: correct / samples.length };
  });
}

/** The chosen point of the curve, with the sentence that says why. */
export interface ChosenThreshold {
  point: CurvePoint;
  cloudOnly: number;
  edgeOnly: number;
  reason: string;
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/**
 * The threshold `rule` picks on `curve` (cascadeCurve's, which ends with everything sent):
 * withinPoints, the smallest cloud share whose accuracy is within that many points of the cloud
 * model alone (the lowest threshold of equal shares); cloudShare, the largest share not over it.
 */
export function chooseThreshold(curve: readonly CurvePoint[], rule: JointRule): ChosenThreshold {
  const sorted = [...curve].sort((a, b) => a.cloudShare - b.cloudShare || a.threshold - b.threshold);
  const cloudOnly = (sorted.at(-1) as CurvePoint).accuracy;
  const edgeOnly = (sorted[0] as CurvePoint).accuracy;
  if ('withinPoints' in rule) {
    const floor = cloudOnly - rule.withinPoints / 100;
    const point = sorted.find((candidate) => candidate.accuracy >= floor - 1e-12) as CurvePoint;
    return {
      point,
      cloudOnly,
      edgeOnly,
      reason: `the smallest cloud share (${pct(point.cloudShare)}) whose accuracy ${pct(point.accuracy)} is within ${rule.withinPoints} points of the cloud model alone (${pct(cloudOnly)})`,
    };
  }
  const point = [...sorted]
    .reverse()
    .find((candidate) => candidate.cloudShare <= rule.cloudShare + 1e-12) as CurvePoint;
  return {
    point,
    cloudOnly,
    edgeOnly,
    reason: `the largest cloud share not over ${pct(rule.cloudShare)}: ${pct(point.cloudShare)}, accuracy ${pct(point.accuracy)}`,
  };
}

/** The curve as the report shows it: a mermaid line chart of accuracy against cloud share, and the table, the chosen row marked. */
export function renderJointCurve(curve: readonly CurvePoint[], chosen: ChosenThreshold): string {
  const points = [...curve].sort((a, b) => a.cloudShare - b.cloudShare || a.threshold - b.threshold);
  const x = points.map((point) => `"${Math.round(point.cloudShare * 100)}%"`).join(', ');
  const y = points.map((point) => (point.accuracy * 100).toFixed(1)).join(', ');
  const low = Math.floor(Math.min(...points.map((point) => point.accuracy)) * 100);
  const threshold = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'all');
  return [
    '```mermaid',
    "%%{init: {'theme': 'base', 'themeVariables': {'xyChart': {'plotColorPalette': '#1f6feb'}}}}%%",
    'xychart-beta',
    '  title "Accuracy of the pair against the share sent to the cloud"',
    `  x-axis [${x}]`,
    `  y-axis "accuracy (%)" ${low} --> 100`,
    `  line [${y}]`,
    '```',
    '',
    '| threshold | sent to the cloud | accuracy | |',
    '|---:|---:|---:|---|',
    ...points.map(
      (point) =>
        `| ${threshold(point.threshold)} | ${pct(point.cloudShare)} | ${pct(point.accuracy)} | ${point === chosen.point ? '**chosen**' : ''} |`,
    ),
    '',
    `Chosen threshold ${threshold(chosen.point.threshold)}: ${chosen.reason}. Edge model alone ${pct(chosen.edgeOnly)}, cloud model alone ${pct(chosen.cloudOnly)}.`,
  ].join('\n');
}

const evalTensor = z.strictObject({
  dtype: z.string(),
  dims: z.array(z.number().int().nonnegative()),
  data: z.array(z.number()),
});

/** A labelled evaluation set for a pair (what training writes beside golden.json): inputs of one example each, and its class. */
export const evaluationSetSchema = z.object({
  samples: z
    .array(z.strictObject({ inputs: z.record(z.string(), evalTensor), label: z.number().int().nonnegative() }))
    .min(1),
});
export type EvaluationSet = z.infer<typeof evaluationSetSchema>;
