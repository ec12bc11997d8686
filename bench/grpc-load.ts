import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { inferenceService } from '../src/serve/grpc/server.ts';

type Infer = (request: object, callback: (error: grpc.ServiceError | null) => void) => void;

/**
 * A closed-loop gRPC load: `inFlight` ModelInfer calls at a time on one channel (HTTP/2 streams,
 * as gRPC clients send them) for `seconds`; calls a second and the p99 in ms. Any failed call fails the bench.
 */
export async function grpcLoad(
  address: string,
  request: object,
  inFlight: number,
  seconds: number,
): Promise<{ rps: number; p99: number }> {
  const Service = inferenceService();
  const stub = new Service(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ModelInfer: Infer;
  };
  const call = () =>
    new Promise<void>((resolve, reject) => stub.ModelInfer(request, (error) => (error ? reject(error) : resolve())));
  try {
    for (let index = 0; index < 20; index += 1) await call();
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    const loop = async () => {
      while (performance.now() < end) {
        const started = performance.now();
        await call();
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, loop));
    latencies.sort((a, b) => a - b);
    return { rps: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
  } finally {
    stub.close();
  }
}

/** The REST request body as a gRPC ModelInferRequest with raw_input_contents, the way gRPC clients send tensors. */
export function rawRequestOf(body: string): object {
  const { inputs } = JSON.parse(body) as {
    inputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
  };
  return {
    model_name: 'pump',
    inputs: inputs.map((input) => ({ name: input.name, datatype: input.datatype, shape: input.shape })),
    raw_input_contents: inputs.map((input) => Buffer.from(new Float32Array(input.data).buffer)),
  };
}
