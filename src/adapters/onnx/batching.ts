import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';
import type { TensorData } from '../../core/tensor-types.ts';

/** One request waiting for the model. */
export class Job {
  readonly rows: number;

  constructor(
    readonly inputs: CheckedTensor[],
    readonly outputs: string[] | undefined,
    readonly resolve: (outputs: OutputTensor[]) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.rows = inputs[0]?.dims[0] ?? 1;
  }

  /** Whether `other` can share a run with this one: the same inputs, shaped alike past the batch dimension, asking for the same outputs. */
  batchesWith(other: Job): boolean {
    if (other.inputs.length !== this.inputs.length || !sameList(this.outputs, other.outputs)) return false;
    return this.inputs.every((input, index) => {
      const theirs = other.inputs[index] as CheckedTensor;
      if (theirs.name !== input.name || theirs.dims.length !== input.dims.length) return false;
      for (let dim = 1; dim < input.dims.length; dim += 1) if (theirs.dims[dim] !== input.dims[dim]) return false;
      return true;
    });
  }
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === b ||
  (a !== undefined && b !== undefined && a.length === b.length && a.every((item, index) => item === b[index]));

export const jobOf = (
  inputs: CheckedTensor[],
  outputs: string[] | undefined,
  resolve: Job['resolve'],
  reject: Job['reject'],
): Job => new Job(inputs, outputs, resolve, reject);

/**
 * Dynamic batching, as Triton does it: the requests that queued while the model was busy and
 * have the same shape past the batch dimension (and ask for the same outputs) run as one batch
 * of up to `maxRows` rows, while `grows` agrees to each larger size. Takes them off the front of
 * the queue, in order.
 */
export function takeBatch(queue: Job[], maxRows: number, grows: Grows = always): Job[] {
  return queue.splice(0, nextBatch(queue, maxRows, grows).jobs);
}

/** Whether a batch of `rows` rows should take in the next job and become `next` rows. */
export type Grows = (rows: number, next: number) => boolean;
const always: Grows = () => true;

/** The batch takeBatch would take now, without taking it: how many jobs, how many rows. */
export function nextBatch(
  queue: readonly Job[],
  maxRows: number,
  grows: Grows = always,
): { jobs: number; rows: number } {
  const first = queue[0];
  if (!first) return { jobs: 0, rows: 0 };
  let jobs = 1;
  let rows = first.rows;
  for (let index = 1; index < queue.length; index += 1) {
    const next = queue[index] as Job;
    if (!first.batchesWith(next) || rows + next.rows > maxRows || !grows(rows, rows + next.rows)) break;
    jobs += 1;
    rows += next.rows;
  }
  return { jobs, rows };
}

/** The inputs of a batch as one request: each input's rows one after another, in one new array. */
export function mergeInputs(batch: readonly Job[]): CheckedTensor[] {
  const [first] = batch;
  if (!first || batch.length === 1) return first?.inputs ?? [];
  const rows = batch.reduce((sum, job) => sum + job.rows, 0);
  return first.inputs.map((input, index) => {
    const parts = batch.map((job) => job.inputs[index]?.data ?? []);
    return { ...input, dims: [rows, ...input.dims.slice(1)], data: concat(input.data, parts) };
  });
}

function concat(like: TensorData, parts: ArrayLike<unknown>[]): TensorData {
  if (Array.isArray(like)) return parts.flatMap((part) => Array.from(part as string[]));
  const Typed = like.constructor as new (length: number) => Exclude<TensorData, string[]>;
  const data = new Typed(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    (data as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return data;
}

/** Each job's rows of the batch's outputs; undefined when an output is not batched by row. */
export function splitOutputs(batch: readonly Job[], outputs: readonly OutputTensor[]): OutputTensor[][] | undefined {
  if (batch.length === 1) return [[...outputs]];
  const rows = batch.reduce((sum, job) => sum + job.rows, 0);
  if (outputs.some((output) => output.dims[0] !== rows)) return undefined;
  let start = 0;
  return batch.map((job) => {
    const slices = outputs.map((output) => {
      const width = output.dims.slice(1).reduce((product, dim) => product * dim, 1);
      return {
        ...output,
        dims: [job.rows, ...output.dims.slice(1)],
        data: output.data.slice(start * width, (start + job.rows) * width),
      };
    });
    start += job.rows;
    return slices;
  });
}
