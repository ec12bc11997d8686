import type { OutputTensor } from '../core/oip.ts';

/** A joint site: the edge model answers when confident, the cloud's large model otherwise. */
export interface JointSettings {
  /** Requests whose confidence is under this go to the cloud. */
  threshold: number;
  /** The output holding each row's confidence ([batch] or [batch, 1]); without it, the top-class probability of the first output. */
  confidenceOutput?: string;
}

/**
 * A request's confidence: the lowest of its rows', read from the named output, or the largest
 * probability of each row of the first output ([batch, classes]). Undefined when the outputs do
 * not hold it (the output is missing or not numeric): such a request goes to the cloud.
 */
export function confidenceOf(
  outputs: readonly OutputTensor[],
  rows: number,
  setting: JointSettings,
): number | undefined {
  const output = setting.confidenceOutput
    ? outputs.find((candidate) => candidate.name === setting.confidenceOutput)
    : outputs[0];
  if (!output || typeof output.data[0] !== 'number' || rows < 1) return undefined;
  const data = output.data as ArrayLike<number>;
  const width = data.length / rows;
  if (!Number.isInteger(width) || width < 1) return undefined;
  let lowest = Number.POSITIVE_INFINITY;
  for (let row = 0; row < rows; row += 1) {
    let best = Number.NEGATIVE_INFINITY;
    // A named confidence output has one value a row; a class output, the most likely class's.
    const span = setting.confidenceOutput ? 1 : width;
    for (let column = 0; column < span; column += 1) best = Math.max(best, data[row * width + column] as number);
    lowest = Math.min(lowest, best);
  }
  return Number.isFinite(lowest) ? lowest : undefined;
}
