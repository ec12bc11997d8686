import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { jobOf, mergeInputs, splitOutputs, takeBatch, type Job } from '../../../src/adapters/onnx/batching.ts';
import { InferenceWorker } from '../../../src/adapters/onnx/inference-pool.ts';
import { RunCosts } from '../../../src/adapters/onnx/inline-session.ts';

const job = (rows: number, width = 2, outputs?: string[]): Job =>
  jobOf(
    [
      {
        name: 'x',
        dtype: 'float32',
        dims: [rows, width],
        data: Float32Array.from({ length: rows * width }, (_, index) => rows * 100 + index),
      },
    ],
    outputs,
    () => undefined,
    () => undefined,
  );

describe('dynamic batching', () => {
  it('batches queued requests of the same shape, in order, up to the row limit', () => {
    const queue = [job(1), job(2), job(1, 3), job(1)];
    expect(takeBatch(queue, 8).map((entry) => entry.rows)).toEqual([1, 2]);
    expect(takeBatch(queue, 8).map((entry) => entry.inputs[0]?.dims)).toEqual([[1, 3]]);
    expect(takeBatch(queue, 8)).toHaveLength(1);
    expect(takeBatch([job(3), job(3), job(3)], 6).map((entry) => entry.rows)).toEqual([3, 3]);
    expect(takeBatch([job(1, 2, ['a']), job(1, 2, ['b'])], 8)).toHaveLength(1);
    expect(takeBatch([job(1, 2, ['a']), job(1, 2, ['a']), job(1, 2)], 8)).toHaveLength(2);
  });

  it('grows a batch only while a row costs no more in the larger batch, as a whole window of runs measured it', () => {
    const costs = new RunCosts();
    const grows = (rows: number, next: number) => costs.grows(rows, next);
    const queue = () => [job(32), job(32), job(32), job(32)];
    const runs = (rows: number, ms: number, count = 15) => {
      for (let run = 0; run < count; run += 1) costs.record(rows, ms);
    };
    expect(takeBatch(queue(), 256, grows)).toHaveLength(4); // nothing measured: batch as much as fits
    // Per row: 105 µs at 32 and 64 rows, 117 at 96 (as GRU 128×2 on one thread grows slower).
    runs(32, 32 * 0.105);
    runs(64, 64 * 0.105);
    runs(96, 96 * 0.117, 14);
    expect(costs.grows(64, 96)).toBe(true); // 14 runs of 96 rows: not judged yet, still tried
    runs(96, 96 * 0.117, 1);
    expect(takeBatch(queue(), 256, grows).map((entry) => entry.rows)).toEqual([32, 32]);
    expect(costs.grows(32, 64)).toBe(true);
    expect(costs.grows(96, 128)).toBe(true); // 128 never ran: tried
    // After 50 runs without one of 96 rows, it is tried again, so its figure stays current; asking does not count.
    expect(Array.from({ length: 100 }, () => costs.grows(64, 96)).some(Boolean)).toBe(false);
    runs(64, 64 * 0.105, 49);
    expect(costs.grows(64, 96)).toBe(false);
    runs(64, 64 * 0.105, 1);
    expect(costs.grows(64, 96)).toBe(true);
    runs(96, 96 * 0.117, 1);
    expect(costs.grows(64, 96)).toBe(false);
    // The first runs of a new size are slow (ONNX Runtime allocates for the shape): they do not stop a batch growing for good.
    const small = new RunCosts();
    for (const [rows, ms] of [
      [1, 0.036],
      [2, 0.092],
      [2, 0.09],
      [2, 0.04],
    ] as const)
      small.record(rows, ms);
    for (let run = 0; run < 15; run += 1) small.record(1, 0.036);
    expect(small.grows(1, 2)).toBe(true);
    for (let run = 0; run < 12; run += 1) small.record(2, 0.04);
    expect(small.grows(1, 2)).toBe(true); // 0.02 ms a row against 0.036
  });

  it('merges inputs row after row and gives each request its own rows back', () => {
    const batch = [job(1), job(2)];
    expect(mergeInputs(batch)).toEqual([
      { name: 'x', dtype: 'float32', dims: [3, 2], data: Float32Array.from([100, 101, 200, 201, 202, 203]) },
    ]);
    const outputs = [{ name: 'y', dtype: 'float32', dims: [3, 1], data: Float32Array.from([7, 8, 9]) }];
    expect(
      splitOutputs(batch, outputs)?.map((parts) =>
        parts.map((part) => [part.dims, Array.from(part.data as Float32Array)]),
      ),
    ).toEqual([
      [[[1, 1], [7]]],
      [
        [
          [2, 1],
          [8, 9],
        ],
      ],
    ]);
    expect(
      splitOutputs(batch, [{ name: 'y', dtype: 'float32', dims: [1], data: Float32Array.from([1]) }]),
    ).toBeUndefined();
  });

  it('runs concurrent requests of the example model in fewer runs, each with its own answer', async () => {
    const worker = await InferenceWorker.open(join(inject('exampleOutputs'), 'model.onnx'), { inlineMaxMs: 0 });
    try {
      const request = (level: number) => [
        {
          name: 'readings',
          dtype: 'float32',
          dims: [1, 32, 3],
          data: Float32Array.from({ length: 96 }, (_, index) => level + (index % 3)),
        },
      ];
      const alone: number[][] = [];
      for (const level of [40, 45, 50])
        alone.push(Array.from((await worker.run(request(level)))[0]?.data as Float32Array));
      const before = worker.runs;
      const together = await Promise.all(
        [40, 45, 50, 40, 45, 50, 40, 45].map(async (level) =>
          Array.from((await worker.run(request(level)))[0]?.data as Float32Array),
        ),
      );
      // At most the first two alone (one running, one waiting in the thread) and the rest, queued behind them, as one batch.
      expect(worker.runs - before).toBeLessThanOrEqual(3);
      together.forEach((answer, index) =>
        answer.forEach((value, column) => expect(value).toBeCloseTo(alone[index % 3]?.[column] ?? NaN, 4)),
      );
    } finally {
      await worker.close();
    }
  });

  it('runs the same request twice, alone and in a batch, as an adaptive probe and then the local answer do: nothing hangs, both answer alike', async () => {
    const worker = await InferenceWorker.open(join(inject('exampleOutputs'), 'model.onnx'), { inlineMaxMs: 0 });
    try {
      const inputs = [
        {
          name: 'readings',
          dtype: 'float32',
          dims: [1, 32, 3],
          data: Float32Array.from({ length: 96 }, (_, index) => 40 + (index % 3)),
        },
      ];
      const first = Array.from((await worker.run(inputs))[0]?.data as Float32Array);
      // The same tensors again, alone and queued with others (merged into a batch).
      const neighbour = () => [
        { name: 'readings', dtype: 'float32', dims: [1, 32, 3], data: new Float32Array(96).fill(45) },
      ];
      const again = await Promise.all([
        worker.run(inputs),
        worker.run(neighbour()),
        worker.run(neighbour()),
        worker.run(inputs),
        worker.run(neighbour()),
      ]);
      for (const answer of [again[0], again[3]]) expect(Array.from(answer?.[0]?.data as Float32Array)).toEqual(first);
      expect(Array.from(inputs[0]?.data ?? [])).toHaveLength(96);
      expect(worker.inFlight).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('knows how long its oldest request has waited, and nothing once all are answered', async () => {
    const worker = await InferenceWorker.open(join(inject('exampleOutputs'), 'model.onnx'), { inlineMaxMs: 0 });
    try {
      expect(worker.oldestMs()).toBe(0);
      const running = worker.run([
        { name: 'readings', dtype: 'float32', dims: [1, 32, 3], data: new Float32Array(96).fill(45) },
      ]);
      // Blocked, the main thread cannot take the answer yet: the request still waits.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      expect(worker.oldestMs()).toBeGreaterThanOrEqual(5);
      await running;
      expect(worker.oldestMs()).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('runs each request of a failed batch on its own, so one bad request fails no other', async () => {
    const worker = await InferenceWorker.open(join(inject('exampleOutputs'), 'model.onnx'), { inlineMaxMs: 0 });
    try {
      const good = () => [
        { name: 'readings', dtype: 'float32', dims: [1, 32, 3], data: new Float32Array(96).fill(45) },
      ];
      // What the server's checks would refuse: fewer values than the shape holds.
      const bad = () => [{ name: 'readings', dtype: 'float32', dims: [1, 32, 3], data: new Float32Array(10) }];
      const before = worker.runs;
      const answers = await Promise.allSettled(
        [good(), good(), good(), bad(), good()].map((inputs) => worker.run(inputs)),
      );
      // The first two alone (the thread holds two batches), then the other three as one batch, which failed.
      expect(worker.runs - before).toBe(3);
      expect(answers.map((answer) => answer.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
    } finally {
      await worker.close();
    }
  });

  it('runs a batch size on the main thread only once sizes up to it have run three times, and only while its expected run time is under the limit', () => {
    const costs = new RunCosts(0.2);
    expect(costs.cheap(1)).toBe(false);
    for (const ms of [0.05, 9]) costs.record(1, ms);
    expect(costs.cheap(1)).toBe(false); // two runs, one of them cold: not yet
    costs.record(1, 0.06);
    expect(costs.cheap(1)).toBe(true); // one preempted run does not move the median
    expect(costs.estimate(3)).toBeCloseTo(0.18); // never run: the smaller size scaled by the rows
    expect(costs.cheap(4)).toBe(false);
    for (const ms of [0.9, 0.8, 0.9]) costs.record(3, ms); // slow runs of 3 rows, e.g. on a busy thread
    expect(costs.cheap(3)).toBe(true); // what 1 row implies bounds them
    for (let index = 0; index < 15; index += 1) costs.record(1, 0.5);
    expect(costs.cheap(1)).toBe(false);
    expect(costs.cheap(2)).toBe(false);
    expect(costs.cheap(3)).toBe(false);
    // With nothing else waiting and the thread free, up to 1 ms: a hop costs a lone client more.
    expect(costs.cheap(1, true)).toBe(true);
    expect(costs.cheap(3, true)).toBe(true); // 0.9 ms, measured
    for (let index = 0; index < 15; index += 1) costs.record(3, 1.2);
    expect(costs.cheap(3, true)).toBe(false);
  });

  it('runs cheap batches on the main thread once the thread measured them, with the same answers and no failed neighbours', async () => {
    const file = join(inject('exampleOutputs'), 'model.onnx');
    const threaded = await InferenceWorker.open(file, { inlineMaxMs: 0 });
    // A limit no run exceeds, so where each batch runs does not depend on this machine's speed.
    const worker = await InferenceWorker.open(file, { inlineMaxMs: Number.POSITIVE_INFINITY });
    try {
      const request = (level: number) => [
        {
          name: 'readings',
          dtype: 'float32',
          dims: [1, 32, 3],
          data: Float32Array.from({ length: 96 }, (_, index) => level + (index % 3)),
        },
      ];
      const answer = async (runner: InferenceWorker, level: number) =>
        Array.from((await runner.run(request(level)))[0]?.data as Float32Array);
      // The thread measured batch 1 three times first: twice in the batching check at load, once here.
      await answer(worker, 40);
      expect([worker.runs, worker.inlineRuns]).toEqual([1, 0]);
      for (const level of [45, 50]) await answer(worker, level);
      expect([worker.runs, worker.inlineRuns]).toEqual([3, 2]);
      for (const level of [40, 45, 50]) expect(await answer(worker, level)).toEqual(await answer(threaded, level));
      expect(worker.inlineRuns).toBe(5);
      // Requests read in one turn of the event loop run as one batch, on the main thread.
      const together = await Promise.all([40, 45, 50].map((level) => worker.run(request(level))));
      expect(worker.inlineRuns).toBe(6);
      expect(together.map((outputs) => outputs[0]?.dims)).toEqual([
        [1, 3],
        [1, 3],
        [1, 3],
      ]);
      const bad = [{ name: 'readings', dtype: 'float32', dims: [1, 32, 3], data: new Float32Array(10) }];
      const answers = await Promise.allSettled([worker.run(request(45)), worker.run(bad), worker.run(request(50))]);
      expect(answers.map((entry) => entry.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(worker.inFlight).toBe(0); // nothing left counted as running
    } finally {
      await Promise.all([worker.close(), threaded.close()]);
    }
  });
});
