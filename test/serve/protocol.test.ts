import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import { assertSchema, oipSchemas, zooModel } from './protocol-check.ts';
import { serving } from './helpers.ts';

/** Two rows of each OIP datatype at its edges: what JSON can carry exactly. */
const VALUES: Record<string, unknown[]> = {
  BOOL: [true, false],
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  FP16: [1.5, -65_504],
  FP32: [0.25, -3.4e38],
  FP64: [1e300, -1e-300],
  BYTES: ['pump', 'édge ✓'],
};
const input = (datatype: string, data: unknown[] = VALUES[datatype] ?? [], shape = [data.length / 2, 2]) => ({
  name: `in_${datatype.toLowerCase()}`,
  datatype,
  shape,
  data,
});
const everyInput = (overrides: Record<string, ReturnType<typeof input>> = {}) =>
  Object.keys(VALUES).map((datatype) => overrides[datatype] ?? input(datatype));

describe('edgeship serve speaks the Open Inference Protocol for every datatype', () => {
  const stops: (() => Promise<void>)[] = [];
  let schema: (name: string) => ValidateFunction;
  beforeAll(async () => {
    schema = await oipSchemas();
  });
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  const start = async (file: string, name: string) => {
    const served = await serving({ model: await zooModel(file, name) });
    stops.push(served.stop);
    return served;
  };

  it('names every datatype as the protocol does and passes each value through exactly, every answer as the specification describes it', async () => {
    const { call } = await start('every-type', 'types');
    const server = await call('/v2');
    assertSchema(schema('metadata_server_response'), server.body, 'GET /v2');
    const metadata = await call('/v2/models/types');
    assertSchema(schema('metadata_model_response'), metadata.body, 'GET /v2/models/types');
    expect(metadata.body).toMatchObject({ platform: 'onnx_onnxv1', versions: ['1'] });
    expect((metadata.body.inputs as { datatype: string }[]).map((tensor) => tensor.datatype)).toEqual(
      Object.keys(VALUES),
    );
    const request = { id: 'every', parameters: { trace: 'on' }, inputs: everyInput() };
    assertSchema(schema('inference_request'), request, 'the request');
    const answer = await call('/v2/models/types/infer', request);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    assertSchema(schema('inference_response'), answer.body, 'the infer answer');
    const outputs = answer.body.outputs as { name: string; datatype: string; shape: number[]; data: unknown[] }[];
    for (const [datatype, values] of Object.entries(VALUES)) {
      const output = outputs.find((entry) => entry.name === `out_${datatype.toLowerCase()}`);
      expect(output, datatype).toMatchObject({ datatype, shape: [1, 2] });
      if (datatype === 'FP32') expect((output?.data as number[])[1]).toBeCloseTo(-3.4e38, -32);
      else expect(output?.data, datatype).toEqual(values);
    }
  });

  it('refuses, with a 400 naming the input, what would wrap, overflow, crash ONNX Runtime or break the shape', async () => {
    const { call } = await start('every-type', 'types');
    const cases: [string, unknown, string][] = [
      [
        'batch 0',
        { inputs: everyInput({ FP32: input('FP32', [], [0, 2]) }) },
        'input "in_fp32": shape [0, 2] has a size 0',
      ],
      [
        'UINT8 300',
        { inputs: everyInput({ UINT8: input('UINT8', [300, 1]) }) },
        'input "in_uint8": expected a value from 0 to 255 for UINT8, found 300 at index 0',
      ],
      [
        'INT32 3e9',
        { inputs: everyInput({ INT32: input('INT32', [3e9, 1]) }) },
        'expected a value from -2147483648 to 2147483647 for INT32, found 3000000000',
      ],
      [
        'INT8 1.5',
        { inputs: everyInput({ INT8: input('INT8', [1.5, 1]) }) },
        'input "in_int8": expected a whole number for INT8, found 1.5',
      ],
      [
        'BOOL 2',
        { inputs: everyInput({ BOOL: input('BOOL', [2, true]) }) },
        'input "in_bool": expected true or false for BOOL, found 2',
      ],
      [
        'FP32 1e39',
        { inputs: everyInput({ FP32: input('FP32', [1e39, 1]) }) },
        'input "in_fp32": expected a value from -3.4028234663852886e+38 to 3.4028234663852886e+38 for FP32',
      ],
      [
        'FP16 70000',
        { inputs: everyInput({ FP16: input('FP16', [70_000, 1]) }) },
        'expected a value from -65504 to 65504 for FP16, found 70000',
      ],
      [
        'INT64 beyond 2^53',
        { inputs: everyInput({ INT64: input('INT64', [2 ** 60, 1]) }) },
        'send larger INT64 values as binary data',
      ],
      [
        'BYTES as a number',
        { inputs: everyInput({ BYTES: input('BYTES', [1, 'a']) }) },
        'input "in_bytes": expected a string for BYTES, found 1',
      ],
      [
        'ragged data',
        { inputs: everyInput({ FP32: input('FP32', [[1, 2], [3]], [2, 2]) }) },
        'data[1]: expected 2 entries (shape dim 1), found 1',
      ],
      [
        'mixed batch sizes',
        { inputs: everyInput({ FP64: input('FP64', [1, 2, 3, 4], [2, 2]) }) },
        'input "in_fp64": batch size 2, but input "in_bool" has 1',
      ],
      ['a numeric id', { id: 42, inputs: everyInput() }, 'request body: expected "id" to be a string, found 42'],
      [
        'parameters that are not an object',
        { parameters: 5, inputs: everyInput() },
        'request body: expected "parameters" to be an object, found 5',
      ],
      ['an empty outputs list', { inputs: everyInput(), outputs: [] }, 'expected "outputs" to be a non-empty list'],
      [
        'data nested deeper than any shape',
        `{"inputs":[{"name":"in_fp32","datatype":"FP32","shape":[1,2],"data":[[${'['.repeat(5000)}1${']'.repeat(5000)},2]]}]}`,
        "data[0][0]: nested deeper than the shape's 2 dims",
      ],
      [
        'FP16 named FLOAT16',
        { inputs: everyInput({ FP16: { ...input('FP16'), datatype: 'FLOAT16' } }) },
        'expected datatype FP16, found "FLOAT16"',
      ],
    ];
    for (const [what, body, message] of cases) {
      const answer = await call('/v2/models/types/infer', body);
      expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(400);
      assertSchema(schema('inference_error_response'), answer.body, what);
      expect(answer.body.error, what).toContain(message);
    }
    expect((await call('/v2/models/%E0%A4%A/infer', { inputs: everyInput() })).body).toEqual({
      error: 'model name in the path: invalid %-encoding in "%E0%A4%A"',
    });
    expect((await call('/v2/models/types/infer', { inputs: everyInput() })).status).toBe(200);
  });

  it('keeps every good request whole while bad ones arrive among them', async () => {
    const { call } = await start('ids-and-features', 'ids');
    const good = (row: number) => ({
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [1, 4], data: [row, row, row, row] },
        { name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.5, 0.5, 0.5, 0.5] },
      ],
    });
    const bad = [
      {
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] },
          { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
        ],
      },
      {
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [0, 4], data: [] },
          { name: 'x', datatype: 'FP32', shape: [0, 4], data: [] },
        ],
      },
    ];
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, index) =>
        index % 10 === 5 ? call('/v2/models/ids/infer', bad[index % 2]) : call('/v2/models/ids/infer', good(index)),
      ),
    );
    answers.forEach((answer, index) => {
      if (index % 10 === 5) return expect(answer.status, `request ${index}`).toBe(400);
      expect(answer.status, `request ${index}: ${JSON.stringify(answer.body)}`).toBe(200);
      const outputs = answer.body.outputs as { name: string; data: number[] }[];
      expect(outputs.find((output) => output.name === 'y')?.data, `request ${index}`).toEqual([
        index + 0.5,
        index + 0.5,
        index + 0.5,
        index + 0.5,
      ]);
      expect(outputs.find((output) => output.name === 'ids_out')?.data, `request ${index}`).toEqual([
        index,
        index,
        index,
        index,
      ]);
    });
  });

  it('answers an index outside an embedding with a 400 naming the input, and its neighbours with their rows', async () => {
    const { call } = await start('embedding', 'emb');
    const ask = (id: number) =>
      call('/v2/models/emb/infer', { inputs: [{ name: 'ids', datatype: 'INT64', shape: [1], data: [id] }] });
    const answers = await Promise.all([0, 7, 2, 1, -9, 2].map(ask));
    expect(answers.map((answer) => answer.status)).toEqual([200, 400, 200, 200, 400, 200]);
    expect(answers[1]?.body.error).toMatch(
      /^the model cannot run on these values \(an index in input "ids" is outside its range\?\): indices element out of data bounds, idx=7 must be within the inclusive range \[-3,2\]$/,
    );
    expect((answers[2]?.body.outputs as { data: number[] }[])[0]?.data).toEqual([4, 5]);
  });

  it('carries tensors as binary data both ways, every bit of an int64 included, and takes gzip bodies', async () => {
    const { base } = await start('ids-and-features', 'ids');
    const ids = BigInt64Array.from([2n ** 62n + 1n, -(2n ** 62n) - 3n, 7n, 8n]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [1, 4], parameters: { binary_data_size: 32 } },
          { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        ],
        outputs: [{ name: 'ids_out', parameters: { binary_data: true } }, { name: 'y' }],
      }),
    );
    const response = await fetch(`${base}/v2/models/ids/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, Buffer.from(ids.buffer)]),
    });
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    const length = Number(response.headers.get('inference-header-content-length'));
    const json = JSON.parse(bytes.subarray(0, length).toString()) as {
      outputs: { name: string; parameters?: { binary_data_size: number }; data?: number[] }[];
    };
    expect(json.outputs.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'ids_out', datatype: 'INT64', shape: [1, 4], parameters: { binary_data_size: 32 } },
      { name: 'y', datatype: 'FP32', shape: [1, 4], data: [Number(ids[0]) + 1, Number(ids[1]) + 2, 10, 12] },
    ]);
    // The only binary output: its 32 bytes follow the JSON header.
    expect(bytes.length - length).toBe(32);
    const back = new BigInt64Array(Uint8Array.from(bytes.subarray(length)).buffer);
    expect([...back]).toEqual([...ids]);
    // Sizes that do not add up are a 400, never a read past the body.
    const short = await fetch(`${base}/v2/models/ids/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.alloc(8)]),
    });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { error: string }).error).toContain(
      'input "ids": binary_data_size 32 runs past the binary data of the request (8 bytes left)',
    );
    const zipped = await fetch(`${base}/v2/models/ids/infer`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: gzipSync(
        JSON.stringify({
          inputs: [
            { name: 'ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] },
            { name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] },
          ],
        }),
      ),
    });
    expect(((await zipped.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([1, 2, 3, 4]);
    const brotli = await fetch(`${base}/v2/models/ids/infer`, {
      method: 'POST',
      headers: { 'content-encoding': 'br' },
      body: 'x',
    });
    expect(brotli.status).toBe(415);
  });

  it('takes an FP16 model: JSON numbers in, FP16 computed, numbers out', async () => {
    const { call } = await start('half', 'half');
    const answer = await call('/v2/models/half/infer', {
      inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 3], data: [0.5, 1, 1.5, -2, 100, 0.099975586] }],
    });
    // FP16 keeps 11 significant bits: 0.1 is 0.0999755859375, twice that 0.199951171875.
    expect(answer.body.outputs).toEqual([
      { name: 'y', datatype: 'FP16', shape: [2, 3], data: [1, 2, 3, -4, 200, 0.199951171875] },
    ]);
  });

  it('keeps statistics per version and lists, unloads and loads models through the repository extension', async () => {
    const model = await zooModel('ids-and-features', 'ids');
    const served = await serving({
      model,
      load: { token: 'admin', model: () => zooModel('ids-and-features', 'ids', '2') },
    });
    stops.push(served.stop);
    const { call } = served;
    const request = {
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [3, 4], data: Array<number>(12).fill(1) },
        { name: 'x', datatype: 'FP32', shape: [3, 4], data: Array<number>(12).fill(0) },
      ],
    };
    await call('/v2/models/ids/infer', request);
    await call('/v2/models/ids/infer', { ...request, outputs: [{ name: 'nope' }] });
    const stats = (await call('/v2/models/ids/stats')).body as {
      model_stats: {
        name: string;
        version: string;
        inference_count: number;
        execution_count: number;
        inference_stats: { success: { count: number; ns: number } };
      }[];
    };
    expect(stats.model_stats).toMatchObject([
      { name: 'ids', version: '1', inference_count: 3, execution_count: 1, inference_stats: { success: { count: 1 } } },
    ]);
    expect(stats.model_stats[0]?.inference_stats.success.ns).toBeGreaterThan(0);
    const admin = { headers: { authorization: 'Bearer admin' } };
    const index = async () => JSON.parse((await call('/v2/repository/index', {})).body as unknown as string) as unknown;
    expect(await index()).toEqual([{ name: 'ids', version: '1', state: 'READY' }]);
    expect((await call('/v2/repository/models/ids/unload', {})).status).toBe(401);
    expect(await call('/v2/repository/models/ids/unload', {}, admin)).toEqual({
      status: 200,
      body: { name: 'ids', state: 'UNAVAILABLE' },
    });
    expect((await call('/v2/health/ready')).status).toBe(503);
    expect(await index()).toEqual([{ name: 'ids', state: 'UNAVAILABLE', reason: 'unloaded on request' }]);
    expect(
      (await call('/v2/repository/models/ids/load', { parameters: { reference: 'ids-and-features.onnx' } }, admin))
        .status,
    ).toBe(200);
    expect(await index()).toEqual([{ name: 'ids', version: '2', state: 'READY' }]);
  });

  it('offloads a breaking canary to the cloud version it was released with: answers of its own contract, not "no such input"', async () => {
    // The cloud still runs 1.0.0 (the example's contract: readings) and also serves 2.0.0 (ids and x) for the canary.
    const cloud = await serving({ version: '1.0.0', retained: [await zooModel('ids-and-features', 'pump', '2.0.0')] });
    stops.push(cloud.stop);
    const canary = await serving({
      model: await zooModel('ids-and-features', 'pump', '2.0.0'),
      offload: { url: cloud.base, timeoutMs: 5000 },
    });
    stops.push(canary.stop);
    const request = {
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] },
        { name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] },
      ],
    };
    const answer = await canary.call('/v2/models/pump/infer', request);
    expect(answer).toMatchObject({ status: 200, body: { model_name: 'pump', model_version: '2.0.0' } });
    expect((await canary.call('/metrics')).body).toContain(
      'edgeship_offload_requests_total{model="pump",route="forwarded"} 1',
    );
    const metadata = await cloud.call('/v2/models/pump/versions/2.0.0');
    expect(metadata.body).toMatchObject({
      versions: ['2.0.0', '1.0.0'],
      inputs: [
        { name: 'ids', datatype: 'INT64' },
        { name: 'x', datatype: 'FP32' },
      ],
    });
    expect((await cloud.call('/v2/models/pump')).body).toMatchObject({ inputs: [{ name: 'readings' }] });
  });
});
