import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { OnnxInspector } from '../../../src/adapters/onnx/inspector.ts';
import { ModelValidationError } from '../../../src/core/errors.ts';
import { compareGolden, goldenFileSchema } from '../../../src/core/golden.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const model = () => join(inject('exampleOutputs'), 'model.onnx');

describe('OnnxInspector', () => {
  const tempDir = useTempDirs();
  const inspector = new OnnxInspector();

  it('reads the contract, opset, producer and digest of the PyTorch export', async () => {
    const inspection = await inspector.inspect(model());
    const bytes = await readFile(model());
    expect(inspection.contract).toEqual({
      inputs: [{ name: 'readings', dtype: 'float32', shape: ['batch', 32, 3] }],
      outputs: [{ name: 'forecast', dtype: 'float32', shape: ['batch', 3] }],
      opset: 17,
    });
    expect(inspection.sizeBytes).toBe(bytes.length);
    expect(inspection.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(inspection.producer).toMatch(/^pytorch /);
    expect(inspection.metadata.channels).toBe('temperature,vibration,current');
  });

  it('reproduces the framework outputs on the golden samples', async () => {
    const golden = goldenFileSchema.parse(
      JSON.parse(await readFile(join(inject('exampleOutputs'), 'golden.json'), 'utf8')),
    );
    const result = compareGolden(golden, await inspector.run(model(), golden.samples), { atol: 1e-4, rtol: 1e-3 });
    expect(result).toMatchObject({ passed: true, samples: 8, compared: 24 });
  });

  it.each([
    [
      'a truncated model',
      async (dir: string) => {
        const bytes = await readFile(model());
        await writeFile(join(dir, 'model.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
      },
      /model\.onnx: expected an ONNX model .* not one or are truncated/,
    ],
    [
      'a file that is not ONNX',
      (dir: string) => writeFile(join(dir, 'model.onnx'), '{"this": "is json"}'),
      /model\.onnx: expected an ONNX model/,
    ],
    ['an empty file', (dir: string) => writeFile(join(dir, 'model.onnx'), ''), /model\.onnx: expected an ONNX model/],
    ['a missing file', async () => undefined, /model\.onnx: model file not found/],
  ])('rejects %s, naming the file', async (_case, make, message) => {
    const dir = await tempDir();
    await make(dir);
    const error = await inspector.inspect(join(dir, 'model.onnx')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelValidationError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(dir);
  });

  it('rejects golden inputs the model does not have', async () => {
    const samples = [
      { inputs: { values: { dtype: 'float32', dims: [1, 32, 3], data: new Array<number>(96).fill(0) } }, outputs: {} },
    ];
    await expect(inspector.run(model(), samples)).rejects.toThrow(
      /golden sample 0: the model has no input "values" \(inputs: readings\)/,
    );
  });

  it('rejects golden inputs whose dims do not match their data', async () => {
    const samples = [{ inputs: { readings: { dtype: 'float32', dims: [1, 32, 3], data: [1, 2, 3] } }, outputs: {} }];
    await expect(inspector.run(model(), samples)).rejects.toThrow(
      /golden sample 0: input "readings": dims \[1, 32, 3\] hold 96 values, data has 3/,
    );
  });

  it('rejects golden inputs of the wrong shape', async () => {
    const samples = [
      {
        inputs: { readings: { dtype: 'float32', dims: [1, 16, 3], data: new Array<number>(48).fill(0) } },
        outputs: {},
      },
    ];
    await expect(inspector.run(model(), samples)).rejects.toThrow(ModelValidationError);
  });
});
