import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { inferenceService } from '../../src/serve/grpc/server.ts';
import { goldenRequest, recorder, serving } from './helpers.ts';

type Infer = (
  request: object,
  callback: (
    error: grpc.ServiceError | null,
    response: { id: string; model_version: string; raw_output_contents: Buffer[]; outputs: { name: string }[] },
  ) => void,
) => void;

function client(port: number) {
  const Service = inferenceService();
  const stub = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ModelInfer: Infer;
  };
  const infer = (request: object) =>
    new Promise<{ status: grpc.status; details: string; response?: Parameters<Parameters<Infer>[1]>[1] }>((resolve) =>
      stub.ModelInfer(request, (error, response) =>
        resolve(
          error ? { status: error.code, details: error.details } : { status: grpc.status.OK, details: '', response },
        ),
      ),
    );
  return { infer, close: () => stub.close() };
}

const floats = (buffer: Buffer) =>
  Array.from(new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)));

describe('OIP over gRPC takes the REST routes', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const rawRequest = async (id: string) => {
    const { request, expected } = await goldenRequest(0);
    const input = request.inputs[0]!;
    const values = input.data.flat(3);
    return {
      expected,
      message: {
        model_name: 'pump',
        id,
        inputs: [{ name: input.name, datatype: 'FP32', shape: input.shape }],
        raw_input_contents: [Buffer.from(new Float32Array(values).buffer)],
      },
    };
  };

  it('a site with no model forwards a gRPC request to the cloud as the binary REST request it means, and answers raw', async () => {
    const cloud = await serving({ version: '1.1.0' });
    stops.push(cloud.stop);
    const site = await serving({
      model: undefined,
      name: 'pump',
      version: '1.1.0',
      offload: { url: cloud.base, timeoutMs: 2000 },
    });
    stops.push(site.stop);
    const grpcClient = client(await site.server.listenGrpc(0, '127.0.0.1'));
    stops.push(async () => grpcClient.close());
    const { message, expected } = await rawRequest('via-cloud');
    const answer = await grpcClient.infer(message);
    expect(answer.status).toBe(grpc.status.OK);
    expect(answer.response?.id).toBe('via-cloud');
    expect(answer.response?.model_version).toBe('1.1.0');
    const values = floats(answer.response!.raw_output_contents[0]!);
    values.forEach((value, index) => expect(value).toBeCloseTo(expected[index] as number, 4));
    expect(await cloud.server.metrics.registry.metrics()).toMatch(/route="local"} 1/);
  });

  it('a cloud 4xx reaches the gRPC client as its status; a call in flight when the server stops is answered, not cut', async () => {
    const cloud = await recorder((request) =>
      request.url?.includes('/infer') ? [400, { error: 'input "readings": expected shape [-1, 32, 3]' }] : [404, {}],
    );
    stops.push(cloud.stop);
    const site = await serving({
      model: undefined,
      name: 'pump',
      version: '1.1.0',
      offload: { url: cloud.url, timeoutMs: 2000 },
    });
    stops.push(site.stop);
    const grpcClient = client(await site.server.listenGrpc(0, '127.0.0.1'));
    stops.push(async () => grpcClient.close());
    const { message } = await rawRequest('refused');
    const values = Array.from(new Float32Array(message.raw_input_contents[0]!.buffer));
    const typed = {
      ...message,
      raw_input_contents: [],
      inputs: [{ ...message.inputs[0], contents: { fp32_contents: values } }],
    };
    const refused = await grpcClient.infer(typed);
    expect(refused.status).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused.details).toContain('expected shape [-1, 32, 3]');
    // A typed request goes on as the JSON it means.
    expect(cloud.received.at(-1)?.body).toMatchObject({
      id: 'refused',
      inputs: [{ name: 'readings', datatype: 'FP32', shape: [1, 32, 3] }],
    });

    const hanging = await recorder(() => 'hang');
    stops.push(hanging.stop);
    const slow = await serving({
      model: undefined,
      name: 'pump',
      version: '1.1.0',
      offload: { url: hanging.url, timeoutMs: 400 },
      shutdownDelayMs: 0,
      drainMs: 0,
    });
    const slowClient = client(await slow.server.listenGrpc(0, '127.0.0.1'));
    stops.push(async () => slowClient.close());
    const inFlight = slowClient.infer(typed);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = slow.stop();
    const answer = await inFlight;
    await stopped;
    // The server's own answer (the cloud's timeout, 504), not a connection cut (UNAVAILABLE/CANCELLED).
    expect(answer.status).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(answer.details).toContain('did not answer within 400 ms');
  });
});
