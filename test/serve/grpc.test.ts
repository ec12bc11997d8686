import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_PROTO } from '../../src/serve/grpc/inference-proto.ts';
import { goldenRequest, serving } from './helpers.ts';

const run = promisify(execFile);
/** Debian's python3-grpcio and python3-grpc-tools are for this interpreter (.ci/setup installs them). */
const PYTHON = '/usr/bin/python3';
const MAX_BYTES = 2 ** 20;

describe('OIP over gRPC, from a client of another implementation', () => {
  let work: string;
  let served: Awaited<ReturnType<typeof serving>>;
  let port: number;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'edgeship-grpc-'));
    await writeFile(join(work, 'grpc_predict_v2.proto'), INFERENCE_PROTO);
    // protoc from grpc_tools: the client's classes come from the proto, not from the server's code.
    await run(PYTHON, [
      '-m',
      'grpc_tools.protoc',
      `-I${work}`,
      `--python_out=${work}`,
      `--grpc_python_out=${work}`,
      join(work, 'grpc_predict_v2.proto'),
    ]).catch((error: Error) => {
      throw new Error(
        `cannot build the Python gRPC client (apt-get install python3-grpcio python3-grpc-tools): ${error.message}`,
      );
    });
    served = await serving({ maxBodyBytes: MAX_BYTES });
    port = await served.server.listenGrpc(0, '127.0.0.1');
  });
  afterAll(async () => {
    await served?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('passes the conformance checks: health, metadata, typed and raw infer, refusals with their codes, the size limit, concurrent clients', async () => {
    const { request, expected } = await goldenRequest(0);
    const input = request.inputs[0]!;
    const casePath = join(work, 'case.json');
    await writeFile(
      casePath,
      JSON.stringify({
        model: 'pump',
        version: '1.0.0',
        input: { name: input.name, shape: input.shape, data: input.data.flat(3) },
        expected,
        output: 'forecast',
        max_bytes: MAX_BYTES,
      }),
    );
    const { stdout } = await run(
      PYTHON,
      [join(import.meta.dirname, 'grpc_conformance.py'), work, String(port), casePath],
      { timeout: 120_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { checks: string[]; failures: string[] };
    expect(result.failures).toEqual([]);
    // 46 field checks of the proto against the protocol, then the calls.
    expect(result.checks.filter((name) => name.startsWith('proto '))).toHaveLength(46);
    expect(result.checks.filter((name) => !name.startsWith('proto '))).toEqual([
      'ServerLive',
      'ServerReady',
      'ModelReady',
      'ModelReady by version',
      'ModelReady unknown model is NOT_FOUND',
      'ServerMetadata',
      'ModelMetadata',
      'ModelInfer typed',
      'ModelInfer raw',
      'ModelInfer with outputs named',
      'wrong datatype is INVALID_ARGUMENT',
      'too few values is INVALID_ARGUMENT',
      'contents and raw together is INVALID_ARGUMENT',
      'raw bytes short of the shape is INVALID_ARGUMENT',
      'unknown model is NOT_FOUND',
      'unknown version is NOT_FOUND',
      'a message over the size limit is RESOURCE_EXHAUSTED',
      '64 concurrent requests each get their own answer',
      'the concurrent requests differ from each other',
    ]);
  });
});
