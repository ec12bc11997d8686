import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { OnnxProfiler } from '../../../src/adapters/onnx/profiler.ts';
import { nominalReferenceRunMs } from '../../../src/core/calibration.ts';
import { ModelValidationError } from '../../../src/core/errors.ts';

describe('OnnxProfiler', () => {
  const profiler = new OnnxProfiler();

  it('measures ordered percentiles and the memory the model adds, scaled by the speed factor', async () => {
    const result = await profiler.profile(
      join(inject('exampleOutputs'), 'model.onnx'),
      'jetson-xavier-nx',
      { threads: 1, memoryMb: 512, speedFactor: 4 },
      { runs: 50, warmup: 5, batch: 8 },
    );
    expect(result).toMatchObject({
      profile: 'jetson-xavier-nx',
      threads: 1,
      speedFactor: 4,
      batch: 8,
      memoryCeilingMb: 512,
    });
    // In 5 rounds of 10; rounds that disagree (a busy machine) are measured once more.
    expect(result.p95).toMatchObject({ rounds: result.p95?.remeasured ? 10 : 5 });
    expect(result.measured.runs).toBe(result.p95?.remeasured ? 100 : 50);
    expect(result.p95!.lowMs).toBeLessThanOrEqual(result.p95!.p95Ms);
    expect(result.p95!.p95Ms).toBeLessThanOrEqual(result.p95!.highMs);
    const { p50Ms, p95Ms, p99Ms, maxMs } = result.measured;
    expect(0 < p50Ms && p50Ms <= p95Ms && p95Ms <= p99Ms && p99Ms <= maxMs).toBe(true);
    // Each round is scaled by the nominal ÷ host time of the reference measured beside it, so the
    // estimate lies between the measured p95 scaled by the least and by the most of those factors.
    const calibration = result.calibration!;
    expect(calibration.nominalRunMs).toBe(nominalReferenceRunMs(1));
    expect(calibration.hostRunMs).toBeGreaterThan(0);
    const [least, most] = [
      calibration.nominalRunMs / (calibration.hostRunMs * (1 + calibration.spread)),
      calibration.nominalRunMs / (calibration.hostRunMs * Math.max(1e-3, 1 - calibration.spread)),
    ];
    expect(result.estimated.p95Ms).toBeGreaterThanOrEqual(p95Ms * 4 * least * 0.999);
    expect(result.estimated.p95Ms).toBeLessThanOrEqual(p95Ms * 4 * most * 1.001);
    expect(result.peakMemoryMb).toBeGreaterThan(0);
    expect(result.sessionCreateMs).toBeGreaterThan(0);
  });

  it("takes a device's numbers as they are: no speed factor, no calibration", async () => {
    const result = await profiler.profile(
      join(inject('exampleOutputs'), 'model.onnx'),
      'jetson-xavier-nx',
      { threads: 1, memoryMb: 512, speedFactor: 4 },
      { runs: 20, warmup: 2, batch: 1, onDevice: true },
    );
    expect(result).toMatchObject({ source: 'device', speedFactor: 1 });
    expect(result.calibration).toBeUndefined();
    expect(result.estimated.p95Ms).toBeCloseTo(result.measured.p95Ms, 9);
  });

  it('reports a model it cannot load as a ModelValidationError', async () => {
    await expect(
      profiler.profile(
        '/nonexistent/model.onnx',
        'cloud-cpu',
        { threads: 1, memoryMb: 512, speedFactor: 1 },
        { runs: 10, warmup: 0, batch: 1 },
      ),
    ).rejects.toThrow(ModelValidationError);
  });
});

describe('the reference workload', () => {
  it('is a model ONNX Runtime loads and runs, the same bytes every time', async () => {
    const { default: ort } = await import('onnxruntime-node');
    const { REFERENCE, referenceInput, referenceModel } = await import('../../../src/adapters/onnx/reference-model.ts');
    expect(Buffer.from(referenceModel()).equals(Buffer.from(referenceModel()))).toBe(true);
    const session = await ort.InferenceSession.create(referenceModel(), { intraOpNumThreads: 1 });
    const output = await session.run({
      x: new ort.Tensor('float32', referenceInput(), [REFERENCE.rows, REFERENCE.width]),
    });
    const y = output.y!.data as Float32Array;
    expect(output.y!.dims).toEqual([REFERENCE.rows, REFERENCE.width]);
    // tanh keeps every value in (-1, 1); weights near zero would make them all 0.
    expect(y.every((value) => Math.abs(value) < 1)).toBe(true);
    expect(y.some((value) => Math.abs(value) > 1e-3)).toBe(true);
    await session.release();
  });
});
