import type { TensorSpec } from '../../core/contract.ts';
import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';
import { DATATYPES, oipOf, writeValues } from '../../core/tensor-types.ts';

/**
 * Whether requests may share a run: only when every input and output carries the same batch
 * dimension (one symbolic name, first); the reason when not. A model whose output leads with
 * another dimension (a transpose, a fixed size) would hand one request another's rows.
 */
export function batchDimension(
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
): { name: string } | { refused: string } {
  const first = inputs[0]?.shape[0];
  if (typeof first !== 'string')
    return { refused: `input "${inputs[0]?.name ?? '?'}" has no symbolic first dimension` };
  const other = [...inputs, ...outputs].find((spec) => spec.shape[0] !== first);
  if (other)
    return {
      refused: `${inputs.includes(other) ? 'input' : 'output'} "${other.name}" leads with ${JSON.stringify(other.shape[0] ?? 'no dimension')}, not the batch dimension "${first}"`,
    };
  return { name: first };
}

/** One row for each input, different for each `seed`: what the load-time check runs alone and merged. */
export function probeRow(spec: TensorSpec, seed: number): CheckedTensor | undefined {
  const datatype = oipOf(spec.dtype);
  if (!datatype) return undefined;
  const dims = spec.shape.map((dim, index) => (index === 0 ? 1 : typeof dim === 'number' ? dim : 2));
  const count = dims.reduce((product, dim) => product * dim, 1);
  const type = DATATYPES[datatype];
  let state = seed >>> 0;
  const values = Array.from({ length: count }, (_, index) => {
    if (type.kind === 'bytes') return `row ${seed} value ${index}`;
    if (type.kind !== 'float') return (seed + index) % 2;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  });
  const data = type.make(count);
  if (writeValues(datatype, data, values) !== -1) return undefined;
  return { name: spec.name, dtype: spec.dtype, dims, data };
}

/**
 * Whether each row of a merged run equals its run alone (values within 1e-5 + 1e-4 × |alone|):
 * a model whose rows depend on each other (a normalisation over the batch) differs here.
 */
export function rowsAgree(
  alone: readonly (readonly OutputTensor[])[],
  merged: readonly (readonly OutputTensor[])[],
): boolean {
  return alone.every((outputs, row) =>
    outputs.every((output, index) => {
      const other = merged[row]?.[index];
      if (!other || other.data.length !== output.data.length) return false;
      return Array.from(output.data as ArrayLike<unknown>).every((value, at) => {
        const [a, b] = [value, (other.data as ArrayLike<unknown>)[at]];
        if (typeof a !== 'number' || typeof b !== 'number') return String(a) === String(b);
        return Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(a);
      });
    }),
  );
}
