import { z } from 'zod';
import type { ModelContract } from './contract.ts';

/** `reference-stats.json`: per-feature statistics of the training inputs, with decile bins. */
export const referenceStatsSchema = z.object({
  count: z.number().int().positive(),
  features: z
    .array(
      z.object({
        name: z.string().min(1),
        /** The model input the feature is read from, and its index in the input's last dimension. */
        input: z.string().min(1),
        index: z.number().int().nonnegative(),
        edges: z.array(z.number()),
        proportions: z.array(z.number().nonnegative()),
      }),
    )
    .min(1)
    .refine((features) => features.every((feature) => feature.proportions.length === feature.edges.length + 1), {
      error: 'expected one more proportion than edges for every feature',
    }),
});

export type ReferenceStats = z.infer<typeof referenceStatsSchema>;

/**
 * Problems of reference statistics against the model they describe: each feature reads an input
 * the model has, at an index inside the input's last dimension, with edges in ascending order.
 */
export function referenceProblems(stats: ReferenceStats, contract: Pick<ModelContract, 'inputs'>): string[] {
  return stats.features.flatMap((feature, index) => {
    const where = `features[${index}] ("${feature.name}")`;
    const input = contract.inputs.find((spec) => spec.name === feature.input);
    if (!input)
      return [
        `${where}.input: expected an input of the model (${contract.inputs.map((spec) => spec.name).join(', ')}), found "${feature.input}"`,
      ];
    const last = input.shape.at(-1);
    const problems: string[] = [];
    if (typeof last === 'number' && feature.index >= last)
      problems.push(
        `${where}.index: expected below ${last} (the last dimension of "${input.name}"), found ${feature.index}`,
      );
    if (feature.edges.some((edge, at) => at > 0 && edge < (feature.edges[at - 1] as number)))
      problems.push(`${where}.edges: expected ascending bin edges`);
    return problems;
  });
}
export type ReferenceFeature = ReferenceStats['features'][number];

/** The bin of a value: how many edges are at or below it (numpy's searchsorted, side right). */
export function binOf(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((edges[middle] as number) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Proportions below this count as this, so an empty bin does not make PSI infinite. */
const FLOOR = 1e-4;

/**
 * Population stability index of live bin counts against the reference proportions:
 * Σ (live − ref) · ln(live / ref). Below 0.1 is stable, 0.1–0.25 a shift, above 0.25 a drift.
 */
export function psi(reference: readonly number[], counts: readonly number[]): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return 0;
  return reference.reduce((sum, expected, bin) => {
    const live = Math.max((counts[bin] ?? 0) / total, FLOOR);
    const ref = Math.max(expected, FLOOR);
    return sum + (live - ref) * Math.log(live / ref);
  }, 0);
}

export interface DriftRule {
  /** PSI above which a window counts as drifted. */
  threshold: number;
  /** Drifted windows in a row before evidence is sent. */
  windows: number;
}

/** Whether the last windows' highest scores call for evidence: `windows` of them in a row above the threshold. */
export function sustainedDrift(recentMaxScores: readonly number[], rule: DriftRule): boolean {
  if (recentMaxScores.length < rule.windows) return false;
  return recentMaxScores.slice(-rule.windows).every((score) => score > rule.threshold);
}
