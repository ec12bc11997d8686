import { z } from 'zod';

/** A tensor dimension: a fixed size, a symbolic name (e.g. "batch"), or unknown. */
const dimSchema = z.union([z.number().int(), z.string(), z.null()]);
export type Dim = z.infer<typeof dimSchema>;

export const tensorSpecSchema = z.object({ name: z.string(), dtype: z.string(), shape: z.array(dimSchema) });
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

/** What clients of a model depend on (contract.json in an artifact). */
export const modelContractSchema = z.object({
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  opset: z.number().int(),
});
export type ModelContract = z.infer<typeof modelContractSchema>;

export const contractChangeSchema = z.object({
  severity: z.enum(['breaking', 'compatible']),
  tensor: z.string().optional(),
  detail: z.string(),
});
export type ContractChange = z.infer<typeof contractChangeSchema>;

export const contractDiffSchema = z.object({ breaking: z.boolean(), changes: z.array(contractChangeSchema) });
export type ContractDiff = z.infer<typeof contractDiffSchema>;

/**
 * Compares the candidate's contract with the deployed one from a client's point of view.
 * Inputs may widen (a fixed dim becoming symbolic) but not narrow; outputs may narrow but not
 * widen. A removed and an added tensor of the same dtype and shape, the only such pair, are a
 * rename (which breaks clients too).
 */
export function diffContracts(baseline: ModelContract, candidate: ModelContract): ContractDiff {
  const changes = [
    ...diffSide('input', baseline.inputs, candidate.inputs),
    ...diffSide('output', baseline.outputs, candidate.outputs),
  ];
  if (baseline.opset !== candidate.opset) {
    changes.push({
      severity: 'compatible',
      detail: `opset ${baseline.opset} → ${candidate.opset}${candidate.opset > baseline.opset ? ' (the serving runtime must support it)' : ''}`,
    });
  }
  return { breaking: changes.some((change) => change.severity === 'breaking'), changes };
}

function diffSide(side: 'input' | 'output', before: TensorSpec[], after: TensorSpec[]): ContractChange[] {
  const changes: ContractChange[] = [];
  const afterByName = new Map(after.map((tensor) => [tensor.name, tensor]));
  const beforeNames = new Set(before.map((tensor) => tensor.name));
  const removed = before.filter((tensor) => !afterByName.has(tensor.name));
  const added = after.filter((tensor) => !beforeNames.has(tensor.name));
  const signature = (tensor: TensorSpec) => `${tensor.dtype} ${formatShape(tensor.shape)}`;
  const alike = (list: TensorSpec[], tensor: TensorSpec) =>
    list.filter((candidate) => signature(candidate) === signature(tensor));
  const renamed = new Map<string, TensorSpec>();
  for (const old of removed) {
    const [only, ...more] = alike(added, old);
    if (only && more.length === 0 && alike(removed, only).length === 1) renamed.set(old.name, only);
  }
  const renamedTo = new Set([...renamed.values()].map((tensor) => tensor.name));
  for (const old of before) {
    const next = afterByName.get(old.name);
    const rename = renamed.get(old.name);
    if (rename) {
      changes.push({
        severity: 'breaking',
        tensor: old.name,
        detail: `${side} "${old.name}" renamed to "${rename.name}" (${signature(rename)})`,
      });
      continue;
    }
    if (!next) {
      changes.push({ severity: 'breaking', tensor: old.name, detail: `${side} "${old.name}" removed` });
      continue;
    }
    if (old.dtype !== next.dtype) {
      changes.push({
        severity: 'breaking',
        tensor: old.name,
        detail: `${side} "${old.name}" dtype ${old.dtype} → ${next.dtype}`,
      });
    }
    const shapeChange = diffShape(side, old, next);
    if (shapeChange) changes.push(shapeChange);
  }
  for (const tensor of added.filter((candidate) => !renamedTo.has(candidate.name))) {
    changes.push({
      severity: side === 'input' ? 'breaking' : 'compatible',
      tensor: tensor.name,
      detail: `${side} "${tensor.name}" added (${tensor.dtype} ${formatShape(tensor.shape)})`,
    });
  }
  return changes;
}

function diffShape(side: 'input' | 'output', old: TensorSpec, next: TensorSpec): ContractChange | undefined {
  const from = formatShape(old.shape);
  const to = formatShape(next.shape);
  if (from === to) return undefined;
  const detail = `${side} "${old.name}" shape ${from} → ${to}`;
  if (old.shape.length !== next.shape.length) return { severity: 'breaking', tensor: old.name, detail };
  const narrows = (wide: Dim, narrow: Dim) =>
    typeof narrow === 'number' && (typeof wide !== 'number' || wide !== narrow);
  const breaking = old.shape.some((dim, index) => {
    const nextDim = next.shape[index] ?? null;
    // An input that accepts fewer shapes, or an output that can produce more, breaks clients.
    return side === 'input' ? narrows(dim, nextDim) : narrows(nextDim, dim);
  });
  return { severity: breaking ? 'breaking' : 'compatible', tensor: old.name, detail };
}

export function formatShape(shape: Dim[]): string {
  return `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`;
}
