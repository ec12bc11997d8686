import { describe, expect, it } from 'vitest';
import type { ModelContract } from '../../src/core/contract.ts';
import { checkInferRequest, inferResponse, InferenceRequestError } from '../../src/core/oip.ts';

const contract: ModelContract = {
  inputs: [{ name: 'readings', dtype: 'float32', shape: ['batch', 2, 3] }],
  outputs: [{ name: 'forecast', dtype: 'float32', shape: ['batch', 3] }],
  opset: 17,
};
const input = (overrides: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'readings', shape: [1, 2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6], ...overrides }],
});

describe('checkInferRequest', () => {
  it('accepts flat and nested data, any batch size, and keeps the id and requested outputs', () => {
    expect(checkInferRequest({ id: 'a', ...input(), outputs: [{ name: 'forecast' }] }, contract)).toEqual({
      id: 'a',
      inputs: [{ name: 'readings', dtype: 'float32', dims: [1, 2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      outputs: ['forecast'],
      batch: 1,
    });
    const nested = [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ];
    expect(checkInferRequest(input({ shape: [2, 2, 3], data: nested }), contract)).toMatchObject({
      batch: 2,
      inputs: [{ dims: [2, 2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]) }],
    });
  });

  it.each([
    ['not an object', [], 'request body: expected a JSON object with "inputs"'],
    ['no inputs', {}, 'request body: expected "inputs" to be a non-empty list'],
    ['an unknown input', { inputs: [{ name: 'x' }] }, 'input "x": the model has no such input (its inputs: readings)'],
    [
      'a datatype the model does not take',
      input({ datatype: 'INT64' }),
      'input "readings": expected datatype FP32, found "INT64"',
    ],
    [
      'a fixed dimension of another size',
      input({ shape: [1, 3, 3] }),
      'input "readings": expected shape [-1, 2, 3], found [1, 3, 3]',
    ],
    ['a shape of another rank', input({ shape: [6] }), 'input "readings": expected shape [-1, 2, 3], found [6]'],
    [
      'too few values for the shape',
      input({ data: [1, 2, 3] }),
      'input "readings": shape [1, 2, 3] holds 6 values, found 3',
    ],
    [
      'a value that is not a number',
      input({ data: [1, 2, 3, 4, 5, 'six'] }),
      'input "readings": expected a finite number for FP32, found "six" at index 5',
    ],
    [
      'an input given twice',
      { inputs: [input().inputs[0], input().inputs[0]] },
      'input "readings": given more than once',
    ],
    [
      'an unknown output',
      { ...input(), outputs: [{ name: 'mean' }] },
      'output "mean": the model has no such output (its outputs: forecast)',
    ],
  ])('refuses %s with a 400 naming it', (_case, body, message) => {
    const error = (() => {
      try {
        checkInferRequest(body, contract);
      } catch (thrown) {
        return thrown as InferenceRequestError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(InferenceRequestError);
    expect(error).toMatchObject({ status: 400, message });
  });

  it('names a missing input', () => {
    const two: ModelContract = {
      ...contract,
      inputs: [...contract.inputs, { name: 'mask', dtype: 'bool', shape: ['batch'] }],
    };
    expect(() => checkInferRequest(input(), two)).toThrow('request body: missing input "mask"');
  });
});

describe('inferResponse', () => {
  it('answers in OIP form, int64 as numbers', () => {
    expect(
      inferResponse({ name: 'pump', version: '1.1.0' }, { id: 'x' }, [
        { name: 'count', dtype: 'int64', dims: [1], data: BigInt64Array.from([7n]) },
      ]).body,
    ).toEqual({
      model_name: 'pump',
      model_version: '1.1.0',
      id: 'x',
      outputs: [{ name: 'count', datatype: 'INT64', shape: [1], data: [7] }],
    });
  });
});
