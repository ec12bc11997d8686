import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { TensorData } from '../../core/tensor-types.ts';
import { specsOf } from './tensors.ts';

/**
 * The inference thread: one ONNX Runtime session, runs one at a time (ONNX Runtime uses its
 * own threads inside a run), tensors in and out as transferred typed arrays.
 */
interface RunMessage {
  id: number;
  inputs: { name: string; dtype: string; dims: number[]; data: TensorData }[];
  outputs?: string[];
}

const port = parentPort;
if (!port) throw new Error('inference-worker runs as a worker thread');
const { file, threads } = workerData as { file: string; threads?: number };

try {
  const session = await ort.InferenceSession.create(file, {
    ...(threads && { intraOpNumThreads: threads }),
    graphOptimizationLevel: 'all',
  });
  port.postMessage({ kind: 'ready', inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata) });
  let queue = Promise.resolve();
  port.on('message', (message: RunMessage) => {
    queue = queue.then(async () => {
      try {
        const feeds = Object.fromEntries(
          message.inputs.map((input) => [
            input.name,
            new ort.Tensor(input.dtype as 'float32', input.data as Float32Array, input.dims),
          ]),
        );
        const started = performance.now();
        const results = await (message.outputs ? session.run(feeds, message.outputs) : session.run(feeds));
        const ms = performance.now() - started;
        const outputs = Object.entries(results).map(([name, tensor]) => ({
          name,
          dtype: tensor.type,
          dims: [...tensor.dims],
          data: tensor.data,
        }));
        port.postMessage({ kind: 'result', id: message.id, outputs, ms, rows: message.inputs[0]?.dims[0] ?? 1 });
      } catch (error) {
        port.postMessage({ kind: 'error', id: message.id, message: (error as Error).message });
      }
    });
  });
} catch (error) {
  port.postMessage({ kind: 'failed', message: (error as Error).message });
}
