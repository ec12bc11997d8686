import { cp, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { OnnxInspector } from '../../src/adapters/onnx/inspector.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { checkTrainingOutputs } from '../../src/services/outputs-check.ts';
import { useTempDirs } from '../helpers/temp.ts';

const config = { metrics: { primary: 'anomaly_f1', direction: 'maximize' as const } };

describe('checkTrainingOutputs', () => {
  const tempDir = useTempDirs();
  const outputs = async () => {
    const directory = await tempDir();
    await cp(inject('exampleOutputs'), directory, { recursive: true });
    return collectOutputs(directory);
  };
  const edit = async (path: string, change: (data: Record<string, unknown>) => void) => {
    const data = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    change(data);
    await writeFile(path, JSON.stringify(data));
  };

  it("reads the example's four outputs", async () => {
    const checked = await checkTrainingOutputs(new OnnxInspector(), await outputs(), config);
    expect(checked.contract.inputs.map((input) => input.name)).toEqual(['readings']);
    expect(checked.samples).toBeGreaterThan(0);
    expect(checked.stats.features.length).toBeGreaterThan(0);
  });

  it('names the file and field of golden samples that miss a model input, and of statistics of an input the model lacks', async () => {
    const golden = await outputs();
    await edit(golden.golden, (data) => {
      const [sample] = data.samples as { inputs: Record<string, unknown> }[];
      if (sample) delete sample.inputs.readings;
    });
    await expect(checkTrainingOutputs(new OnnxInspector(), golden, config)).rejects.toThrow(
      `${golden.golden}: samples[0].inputs: expected "readings", an input of the model`,
    );
    const stats = await outputs();
    await edit(stats.reference, (data) => {
      const [feature] = data.features as { input: string }[];
      if (feature) feature.input = 'vibration';
    });
    await expect(checkTrainingOutputs(new OnnxInspector(), stats, config)).rejects.toThrow(
      /reference-stats\.json: features\[0\] \("[^"]+"\)\.input: expected an input of the model \(readings\), found "vibration"/,
    );
  });
});
