import { afterEach, describe, expect, it } from 'vitest';
import { driftEvidenceSchema } from '../../src/services/bot/drift.ts';
import { githubDispatchSink } from '../../src/serve/drift.ts';
import { driftFor, type ServeFlags } from '../../src/serve/options.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { inject } from 'vitest';
import type { ReferenceStats } from '../../src/core/drift.ts';
import { loadModel } from '../../src/serve/model.ts';
import { batch, MODEL_FILE, recorder, serving, silent } from './helpers.ts';

/** `rows` windows whose readings visit every training decile equally often, as training data does. */
async function likeTraining(rows: number) {
  const reference = JSON.parse(
    await readFile(join(inject('exampleOutputs'), 'reference-stats.json'), 'utf8'),
  ) as ReferenceStats;
  const inside = (edges: number[], bin: number) => {
    const low = edges[bin - 1] ?? (edges[0] ?? 0) - 1;
    const high = edges[bin] ?? (edges.at(-1) ?? 0) + 1;
    return (low + high) / 2;
  };
  const data = Array.from({ length: rows * 32 }, (_, step) =>
    reference.features.map((feature) => inside(feature.edges, step % feature.proportions.length)),
  );
  return { inputs: [{ name: 'readings', shape: [rows, 32, 3], datatype: 'FP32', data: data.flat() }] };
}

const FLAGS: ServeFlags = {
  host: '127.0.0.1',
  port: '0',
  offloadTimeoutMs: '2000',
  maxBodyMb: '16',
  maxBatchRows: '256',
  inlineMaxMs: '0.1',
  drainMs: '3000',
  graceSeconds: '25',
  driftThreshold: '0.2',
  driftWindows: '2',
  driftWindow: '320',
  driftCooldownMinutes: '60',
  site: 'plant-north',
  probeShare: '0.05',
  dwellSeconds: '15',
};

describe('edgeship serve at the edge', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  const track = <T extends { stop: () => Promise<void> }>(value: T) => {
    stops.push(value.stop);
    return value;
  };

  it('forwards infer requests to the cloud version the site was released with, and counts them, falling back to the local model when the cloud is down', async () => {
    // The cloud target still runs 1.0.0 and also serves 1.1.0, which a canary site offloads to.
    const cloud = await serving({
      version: '1.0.0',
      retained: [await loadModel({ model: MODEL_FILE(), name: 'pump', version: '1.1.0' })],
    });
    const canary = track(await serving({ version: '1.1.0', offload: { url: cloud.base, timeoutMs: 2000 } }));
    const forwarded = await canary.call('/v2/models/pump/infer', batch(1));
    expect(forwarded).toMatchObject({ status: 200, body: { model_version: '1.1.0' } });
    // A forwarder without a model asks for its own version too; the cloud's current one answers unversioned requests.
    const forwarder = track(
      await serving({
        model: undefined,
        name: 'pump',
        version: '1.1.0',
        offload: { url: cloud.base, timeoutMs: 2000 },
      }),
    );
    expect(await forwarder.call('/v2/models/pump/infer', batch(1))).toMatchObject({
      status: 200,
      body: { model_version: '1.1.0' },
    });
    expect(await cloud.call('/v2/models/pump/infer', batch(1))).toMatchObject({
      status: 200,
      body: { model_version: '1.0.0' },
    });
    await cloud.stop();
    const fallback = await canary.call('/v2/models/pump/infer', batch(1));
    expect(fallback).toMatchObject({ status: 200, body: { model_version: '1.1.0' } });
    const metrics = (await canary.call('/metrics')).body as unknown as string;
    expect(metrics).toContain('edgeship_offload_requests_total{model="pump",route="forwarded"} 1');
    expect(metrics).toContain('edgeship_offload_requests_total{model="pump",route="fallback"} 1');
  });

  it("answers locally when the cloud lacks the site's version (404), and says so without a local model", async () => {
    // A cloud that no longer serves 1.1.0: its version route answers 404.
    const cloud = track(await serving({ version: '1.0.0' }));
    const site = track(await serving({ version: '1.1.0', offload: { url: cloud.base, timeoutMs: 2000 } }));
    const answers = await Promise.all(Array.from({ length: 20 }, () => site.call('/v2/models/pump/infer', batch(1))));
    expect(answers.map((answer) => [answer.status, answer.body.model_version])).toEqual(Array(20).fill([200, '1.1.0']));
    expect((await site.call('/metrics')).body as unknown as string).toContain(
      'edgeship_offload_requests_total{model="pump",route="fallback"} 20',
    );
    const forwarder = track(
      await serving({
        model: undefined,
        name: 'pump',
        version: '1.1.0',
        offload: { url: cloud.base, timeoutMs: 2000 },
      }),
    );
    expect(await forwarder.call('/v2/models/pump/infer', batch(1))).toEqual({
      status: 502,
      body: { error: `cloud endpoint ${cloud.base} answered 404` },
    });
  });

  it('forwards a body as the client sent it: binary tensor data with its header length, gzip JSON inflated', async () => {
    const cloud = track(await serving({ version: '1.1.0' }));
    const forwarder = track(
      await serving({
        model: undefined,
        name: 'pump',
        version: '1.1.0',
        offload: { url: cloud.base, timeoutMs: 2000 },
      }),
    );
    const readings = Float32Array.from({ length: 96 }, (_, index) => 40 + (index % 7));
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'readings',
            datatype: 'FP32',
            shape: [1, 32, 3],
            parameters: { binary_data_size: readings.byteLength },
          },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const binary = {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(readings.buffer)]),
    };
    const answer = async (base: string, init: RequestInit) => {
      const response = await fetch(`${base}/v2/models/pump/infer`, init);
      return {
        status: response.status,
        length: response.headers.get('inference-header-content-length'),
        bytes: Buffer.from(await response.arrayBuffer()),
      };
    };
    const direct = await answer(cloud.base, binary);
    expect(direct.status).toBe(200);
    expect(await answer(forwarder.base, binary)).toEqual(direct);
    const json = JSON.stringify({
      inputs: [{ name: 'readings', datatype: 'FP32', shape: [1, 32, 3], data: Array.from(readings) }],
    });
    const zipped = await answer(forwarder.base, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(json),
    });
    expect(zipped).toEqual(
      await answer(cloud.base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json }),
    );
  });

  it('forwards the JSON text the client wrote, byte for byte, not the parsed request written again', async () => {
    const cloud = track(await recorder(() => [200, { model_name: 'pump', outputs: [] }]));
    const forwarder = track(
      await serving({ model: undefined, name: 'pump', version: '1.1.0', offload: { url: cloud.url, timeoutMs: 2000 } }),
    );
    // Spacing and "40.0" that JSON.stringify would not write.
    const text = `{ "inputs": [ { "name": "readings", "datatype": "FP32", "shape": [1, 32, 3], "data": [${Array.from({ length: 96 }, () => '40.0').join(', ')}] } ] }`;
    expect((await forwarder.call('/v2/models/pump/infer', text)).status).toBe(200);
    expect(cloud.received.map((request) => request.raw)).toEqual([text]);
  });

  it('without a local model, answers 504 when the cloud is too slow and 502 when it is unreachable', async () => {
    const slow = track(await recorder(() => 'hang'));
    const forwarder = track(
      await serving({ model: undefined, name: 'pump', offload: { url: slow.url, timeoutMs: 200 } }),
    );
    expect(await forwarder.call('/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
    expect(await forwarder.call('/v2/models/pump/infer', batch(1))).toEqual({
      status: 504,
      body: { error: `cloud endpoint ${slow.url} did not answer within 200 ms` },
    });
    const gone = track(
      await serving({ model: undefined, name: 'pump', offload: { url: 'http://127.0.0.1:9', timeoutMs: 2000 } }),
    );
    const refused = await gone.call('/v2/models/pump/infer', batch(1));
    expect(refused.status).toBe(502);
    expect(refused.body.error).toMatch(/^cloud endpoint http:\/\/127\.0\.0\.1:9 is unreachable/);
  });

  it("takes EdgeX events: buffers each device's readings until a window is full, then infers", async () => {
    const edge = track(
      await serving({ edgex: { input: 'readings', features: ['temperature', 'vibration', 'current'] } }),
    );
    const event = (device: string, step: number) => ({
      apiVersion: 'v3',
      requestId: `r-${step}`,
      event: {
        apiVersion: 'v3',
        deviceName: device,
        profileName: 'pump',
        sourceName: 'telemetry',
        origin: 1_764_150_000_000 + step,
        readings: [
          { resourceName: 'temperature', valueType: 'Float32', value: String(46 + step / 100) },
          { resourceName: 'vibration', valueType: 'Float32', value: '2.6' },
          { resourceName: 'current', valueType: 'Float32', value: '14.4' },
        ],
      },
    });
    for (let step = 0; step < 31; step += 1)
      expect(await edge.call('/v2/models/pump/infer', event('pump-7', step))).toEqual({
        status: 202,
        body: { device: 'pump-7', buffered: step + 1, needed: 32 },
      });
    expect(await edge.call('/v2/models/pump/infer', event('pump-8', 0))).toMatchObject({
      status: 202,
      body: { buffered: 1 },
    });
    const inferred = await edge.call('/v2/models/pump/infer', event('pump-7', 31));
    expect(inferred).toMatchObject({
      status: 200,
      body: { model_name: 'pump', outputs: [{ name: 'forecast', shape: [1, 3] }] },
    });
    const missing = await edge.call('/v2/models/pump/infer', {
      deviceName: 'pump-7',
      readings: [{ resourceName: 'temperature', value: '46' }],
    });
    expect(missing).toEqual({
      status: 400,
      body: {
        error:
          'EdgeX event from pump-7: no reading of "vibration" (the model\'s input "readings" takes temperature, vibration, current)',
      },
    });
  });

  it('sends drift evidence as a repository_dispatch once drift lasts, then keeps quiet for the cooldown', async () => {
    const github = track(await recorder(() => [204, {}]));
    const edge = track(
      await serving({
        driftFor: driftFor(
          { ...FLAGS, driftRepo: 'acme/pump-model' },
          { GITHUB_TOKEN: 'ghs_test', GITHUB_API_URL: github.url },
          silent,
        ),
      }),
    );
    const psi = async () =>
      ((await edge.call('/metrics')).body as unknown as string).match(
        /edgeship_drift_psi\{model="pump",feature="temperature"\} ([\d.]+)/,
      )?.[1];
    // A window spread over the training deciles like the training data: stable.
    await edge.call('/v2/models/pump/infer', await likeTraining(10));
    expect(Number(await psi())).toBeLessThan(0.01);
    // Then the pumps run hot: one drifted window is not enough, two in a row are.
    const hot = async () => edge.call('/v2/models/pump/infer', batch(10, [58, 4.2, 19]));
    await hot();
    expect(github.received).toHaveLength(0);
    await hot();
    await hot(); // within the cooldown: nothing more
    expect(Number(await psi())).toBeGreaterThan(0.2);
    await edge.server.close(); // waits for the evidence to go out
    stops.splice(stops.indexOf(edge.stop), 1);
    expect(github.received).toHaveLength(1);
    const [dispatch] = github.received;
    expect(dispatch).toMatchObject({
      method: 'POST',
      url: '/repos/acme/pump-model/dispatches',
      headers: { authorization: 'Bearer ghs_test' },
      body: { event_type: 'edgeship-drift' },
    });
    const evidence = driftEvidenceSchema.parse((dispatch?.body as { client_payload: unknown }).client_payload);
    expect(evidence).toMatchObject({ model: 'pump', site: 'plant-north', version: '1.0.0' });
    expect(evidence.features.map((feature) => feature.name)).toEqual(['temperature', 'vibration', 'current']);
    expect(Math.min(...evidence.features.map((feature) => feature.score))).toBeGreaterThan(0.2);
  });

  it('retries a failing dispatch and says why it gave up', async () => {
    const github = track(await recorder(() => [500, { message: 'boom' }]));
    const sink = githubDispatchSink('acme/pump-model', 'ghs_test', github.url);
    await expect(sink.send({ model: 'pump', site: 's', features: [{ name: 't', score: 1 }] })).rejects.toThrow(
      'repository_dispatch on acme/pump-model: 500 {"message":"boom"}',
    );
    expect(github.received).toHaveLength(3);
  });
});
