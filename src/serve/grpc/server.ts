import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { InferenceRequestError } from '../../core/oip.ts';
import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../ports.ts';
import type { InferenceServer } from '../server.ts';
import { grpcResponseOf, inferBodyOf, outputsOfAnswer, type GrpcInferRequest } from './convert.ts';
import { INFERENCE_PROTO } from './inference-proto.ts';

/** HTTP statuses of the REST side as gRPC status codes. */
const CODES: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  415: grpc.status.INVALID_ARGUMENT,
  502: grpc.status.UNAVAILABLE,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

/**
 * inference.GRPCInferenceService from the proto: its `service` for a server, and a client
 * constructor. keepCase: the fields as the protocol names them (model_name, raw_input_contents);
 * int64 as numbers, as the REST side has them.
 */
export function inferenceService(): grpc.ServiceClientConstructor {
  const root = protobuf.parse(INFERENCE_PROTO, { keepCase: true }).root;
  const definition = fromJSON(root.toJSON(), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (
    grpc.loadPackageDefinition(definition) as unknown as {
      inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
    }
  ).inference.GRPCInferenceService;
}

type Unary<Request, Response> = (
  call: grpc.ServerUnaryCall<Request, Response>,
  callback: grpc.sendUnaryData<Response>,
) => void;

/**
 * The Open Inference Protocol's gRPC service (inference.GRPCInferenceService) in front of an
 * InferenceServer: the same checks, routing (adaptive, offload), batching, metrics and draining as
 * REST, since ModelInfer becomes the REST request it means (convert.ts). Messages are capped at the
 * REST body limit both ways, so gRPC is no way around it.
 */
export class GrpcOip {
  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async open(
    inference: InferenceServer,
    port: number,
    host: string,
    options: { maxMessageBytes: number; log: Logger },
  ): Promise<GrpcOip> {
    // Channelz (gRPC's introspection service) is not served, so it need not count every call.
    const server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.enable_channelz': 0,
    });
    server.addService(inferenceService().service, handlers(inference, options.log));
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${host.includes(':') ? `[${host}]` : host}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, actual) => (error ? reject(error) : resolve(actual)),
      );
    });
    return new GrpcOip(server, bound);
  }

  /** Stops taking calls and waits for those in flight; after `graceMs`, ends them. */
  async close(graceMs: number): Promise<void> {
    const timer = setTimeout(() => this.server.forceShutdown(), graceMs);
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    clearTimeout(timer);
  }
}

function handlers(inference: InferenceServer, log: Logger): grpc.UntypedServiceImplementation {
  /** Answers a call from `work`, an error as its gRPC status with the message REST would give. */
  const unary =
    <Request, Response>(work: (request: Request) => Response | Promise<Response>): Unary<Request, Response> =>
    (call, callback) => {
      inference
        .track(async () => work(call.request))
        .then(
          (response) => callback(null, response),
          (error: unknown) => {
            const status = error instanceof InferenceRequestError ? error.status : 500;
            if (status === 500) log.error({ err: error }, 'gRPC call failed');
            callback({ code: CODES[status] ?? grpc.status.INTERNAL, details: messageOf(error) });
          },
        );
    };
  const version = (text: string) => (text === '' ? undefined : text);
  return {
    ServerLive: unary(() => ({ live: inference.notLive() === undefined })),
    ServerReady: unary(() => ({ ready: inference.ready })),
    ModelReady: unary((request: { name: string; version: string }) => {
      inference.resolve(request.name, version(request.version));
      return { ready: inference.ready };
    }),
    ServerMetadata: unary(() => inference.serverMetadata()),
    ModelMetadata: unary((request: { name: string; version: string }) =>
      inference.metadataOf(request.name, inference.resolve(request.name, version(request.version))),
    ),
    ModelInfer: unary(async (request: GrpcInferRequest) => {
      const model = inference.resolve(request.model_name, version(request.model_version));
      const { body, raw } = inferBodyOf(request);
      const answer = await inference.answer(body, model, version(request.model_version));
      if (answer.kind === 'local') return grpcResponseOf(answer.model, request.id, answer.outputs, raw);
      if (answer.kind === 'forwarded') {
        const forwarded = outputsOfAnswer(answer.status, answer.headers, answer.body);
        return grpcResponseOf(forwarded.model, request.id, forwarded.outputs, raw);
      }
      throw new InferenceRequestError(400, 'an EdgeX event is REST only');
    }),
  };
}
