import { describe, expect, it } from 'vitest';
import { diffContracts, type ModelContract, type TensorSpec } from '../../src/core/contract.ts';

const tensor = (name: string, shape: TensorSpec['shape'], dtype = 'float32'): TensorSpec => ({ name, dtype, shape });
const contract = (
  inputs: TensorSpec[],
  outputs: TensorSpec[] = [tensor('forecast', ['batch', 3])],
  opset = 17,
): ModelContract => ({ inputs, outputs, opset });
const base = contract([tensor('readings', ['batch', 32, 3])]);

describe('diffContracts', () => {
  it.each([
    ['identical', base, false, []],
    [
      'a renamed input',
      contract([tensor('values', ['batch', 32, 3])]),
      true,
      ['input "readings" renamed to "values" (float32 [batch, 32, 3])'],
    ],
    [
      'a removed input and an added one of another shape',
      contract([tensor('values', ['batch', 16, 3])]),
      true,
      ['input "readings" removed', 'input "values" added (float32 [batch, 16, 3])'],
    ],
    [
      'an input dtype change',
      contract([tensor('readings', ['batch', 32, 3], 'float16')]),
      true,
      ['input "readings" dtype float32 → float16'],
    ],
    [
      'a fixed input dim changed',
      contract([tensor('readings', ['batch', 64, 3])]),
      true,
      ['input "readings" shape [batch, 32, 3] → [batch, 64, 3]'],
    ],
    [
      'an input rank change',
      contract([tensor('readings', ['batch', 96])]),
      true,
      ['input "readings" shape [batch, 32, 3] → [batch, 96]'],
    ],
    [
      'a symbolic input dim fixed',
      contract([tensor('readings', [1, 32, 3])]),
      true,
      ['input "readings" shape [batch, 32, 3] → [1, 32, 3]'],
    ],
    [
      'a symbolic dim renamed',
      contract([tensor('readings', ['N', 32, 3])]),
      false,
      ['input "readings" shape [batch, 32, 3] → [N, 32, 3]'],
    ],
    [
      'an extra input',
      contract([tensor('readings', ['batch', 32, 3]), tensor('mask', ['batch', 32])]),
      true,
      ['input "mask" added (float32 [batch, 32])'],
    ],
    [
      'an extra output',
      contract([tensor('readings', ['batch', 32, 3])], [tensor('forecast', ['batch', 3]), tensor('score', ['batch'])]),
      false,
      ['output "score" added (float32 [batch])'],
    ],
    ['a removed output', contract([tensor('readings', ['batch', 32, 3])], []), true, ['output "forecast" removed']],
    [
      'an output that narrows',
      contract([tensor('readings', ['batch', 32, 3])], [tensor('forecast', [1, 3])]),
      false,
      ['output "forecast" shape [batch, 3] → [1, 3]'],
    ],
    [
      'a newer opset',
      contract([tensor('readings', ['batch', 32, 3])], undefined, 18),
      false,
      ['opset 17 → 18 (the serving runtime must support it)'],
    ],
  ])('%s', (_case, candidate, breaking, details) => {
    const diff = diffContracts(base, candidate);
    expect(diff.breaking).toBe(breaking);
    expect(diff.changes.map((change) => change.detail)).toEqual(details);
  });

  it('widening a fixed input dim to symbolic is compatible, the reverse for outputs is not', () => {
    const fixed = contract([tensor('readings', [1, 32, 3])], [tensor('forecast', [1, 3])]);
    const widened = contract([tensor('readings', ['batch', 32, 3])], [tensor('forecast', ['batch', 3])]);
    expect(diffContracts(fixed, widened).changes.map((change) => change.severity)).toEqual(['compatible', 'breaking']);
  });
});
