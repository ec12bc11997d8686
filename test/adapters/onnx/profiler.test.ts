import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { OnnxProfiler } from '../../../src/adapters/onnx/profiler.ts';
import { ModelValidationError } from '../../../src/core/errors.ts';

describe('OnnxProfiler', () => {
  const profiler = new OnnxProfiler();

  it('measures ordered percentiles and the memory the model adds, scaled by the speed factor', async () => {
    const result = await profiler.profile(join(inject('exampleOutputs'), 'model.onnx'), 'jetson-xavier-nx', { threads: 1, memoryMb: 512, speedFactor: 4 }, { runs: 50, warmup: 5, batch: 8 });
    expect(result).toMatchObject({ profile: 'jetson-xavier-nx', threads: 1, speedFactor: 4, batch: 8, memoryCeilingMb: 512 });
    // In 5 rounds of 10; rounds that disagree (a busy machine) are measured once more.
    expect(result.p95).toMatchObject({ rounds: result.p95?.remeasured ? 10 : 5 });
    expect(result.measured.runs).toBe(result.p95?.remeasured ? 100 : 50);
    expect(result.p95!.lowMs).toBeLessThanOrEqual(result.p95!.p95Ms);
    expect(result.p95!.p95Ms).toBeLessThanOrEqual(result.p95!.highMs);
    const { p50Ms, p95Ms, p99Ms, maxMs } = result.measured;
    expect(0 < p50Ms && p50Ms <= p95Ms && p95Ms <= p99Ms && p99Ms <= maxMs).toBe(true);
    expect(result.estimated.p95Ms).toBeCloseTo(p95Ms * 4, 9);
    expect(result.peakMemoryMb).toBeGreaterThan(0);
    expect(result.sessionCreateMs).toBeGreaterThan(0);
  });

  it('reports a model it cannot load as a ModelValidationError', async () => {
    await expect(profiler.profile('/nonexistent/model.onnx', 'cloud-cpu', { threads: 1, memoryMb: 512, speedFactor: 1 }, { runs: 10, warmup: 0, batch: 1 }))
      .rejects.toThrow(ModelValidationError);
  });
});
