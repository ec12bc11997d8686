import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModelContract } from '../../core/contract.ts';
import { ModelValidationError } from '../../core/errors.ts';
import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';
import { typedArrayFor } from './tensors.ts';

type WorkerMessage =
  | { kind: 'ready'; inputs: ModelContract['inputs']; outputs: ModelContract['outputs'] }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; outputs: OutputTensor[] }
  | { kind: 'error'; id: number; message: string };

/**
 * A model loaded in a worker thread, so inference never blocks the event loop that answers
 * health checks. `close` waits for the runs in flight before it stops the thread, which is how
 * a new model replaces an old one without dropping requests.
 */
export class InferenceWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (outputs: OutputTensor[]) => void; reject: (error: Error) => void }>();
  private drained: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly contract: Pick<ModelContract, 'inputs' | 'outputs'>,
  ) {
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind !== 'result' && message.kind !== 'error') return;
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.kind === 'result') pending?.resolve(message.outputs);
      else pending?.reject(new Error(message.message));
      if (this.pending.size === 0) this.drained?.();
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', () => this.failAll(new Error('the inference thread stopped')));
  }

  /** Loads the model in a new thread; a file ONNX Runtime cannot load fails here, naming it. */
  static async open(file: string, options: { threads?: number } = {}): Promise<InferenceWorker> {
    const typescript = import.meta.url.endsWith('.ts');
    const url = new URL(`./inference-worker${typescript ? '.ts' : '.js'}`, import.meta.url);
    // Worker threads do not take --import: from TypeScript sources, the thread registers tsx itself.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(url.href)}))`;
    const workerData = { file, threads: options.threads };
    const worker = typescript ? new Worker(bootstrap, { eval: true, workerData }) : new Worker(fileURLToPath(url), { workerData });
    const [message] = (await once(worker, 'message')) as [WorkerMessage];
    if (message.kind !== 'ready') {
      await worker.terminate();
      throw new ModelValidationError(`${file}: ONNX Runtime cannot load it: ${message.kind === 'failed' ? message.message : 'no answer'}`);
    }
    return new InferenceWorker(worker, { inputs: message.inputs, outputs: message.outputs });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  run(inputs: CheckedTensor[], outputs?: string[]): Promise<OutputTensor[]> {
    const id = this.nextId++;
    const tensors = inputs.map((input) => ({ ...input, data: typedArrayFor(input.dtype, input.data) }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const buffers = tensors.map((tensor) => (tensor.data as { buffer: ArrayBuffer }).buffer);
      this.worker.postMessage({ id, inputs: tensors, ...(outputs && { outputs }) }, buffers);
    });
  }

  /** Waits for the runs in flight, then stops the thread. */
  async close(): Promise<void> {
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.drained?.();
  }
}
