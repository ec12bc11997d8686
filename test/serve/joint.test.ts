import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/serve/model.ts';
import { modelZoo } from '../helpers/model-zoo.ts';
import { serving } from './helpers.ts';

/** Rows of class probabilities: the edge model's confidence in each is its larger value. */
const request = (rows: number[][]) => ({
  inputs: [{ name: 'scores', shape: [rows.length, 2], datatype: 'FP32', data: rows.flat() }],
});

describe('a joint site: the edge model answers when confident, the cloud otherwise', () => {
  let cloud: Server;
  let cloudUrl = '';
  const cloudSaw: string[] = [];
  let cloudDown = false;
  beforeAll(async () => {
    // The cloud's large model, as its version route answers: one class, marked so the test can tell.
    cloud = createServer((incoming, response) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        cloudSaw.push(`${incoming.url} ${Buffer.concat(chunks).toString('utf8')}`);
        if (cloudDown) return void response.writeHead(503).end('{"error":"down"}');
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            '{"model_name":"pump","model_version":"2.0.0","outputs":[{"name":"probs","shape":[1,2],"datatype":"FP32","data":[0,1]}]}',
          );
      });
    });
    await new Promise<void>((resolve) => cloud.listen(0, '127.0.0.1', resolve));
    cloudUrl = `http://127.0.0.1:${(cloud.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => cloud.close(() => resolve())));

  const site = async (confidenceOutput?: string) =>
    serving({
      version: '2.0.0',
      model: await loadModel({ model: join(await modelZoo(), 'classifier.onnx'), name: 'pump', version: '2.0.0' }),
      offload: { url: cloudUrl, timeoutMs: 2_000 },
      joint: { threshold: 0.8, ...(confidenceOutput && { confidenceOutput }) },
    });

  it('forwards exactly the requests under the threshold, to the cloud version of the release, and counts the share', async () => {
    const served = await site('confidence');
    try {
      cloudDown = false;
      cloudSaw.length = 0;
      // Known confidences (exact in float32): 0.9375, 0.625, 0.875, 0.75, 0.96875, and a batch whose lowest row is 0.5.
      const asked = [
        [[0.9375, 0.0625]],
        [[0.375, 0.625]],
        [[0.875, 0.125]],
        [[0.25, 0.75]],
        [[0.03125, 0.96875]],
        [
          [0.875, 0.125],
          [0.5, 0.5],
        ],
      ];
      const answered = [];
      for (const rows of asked) {
        const response = await fetch(`${served.base}/v2/models/pump/infer`, {
          method: 'POST',
          body: JSON.stringify(request(rows)),
        });
        const body = (await response.json()) as { outputs: { name: string; data: number[] }[] };
        answered.push([
          response.headers.get('x-edgeship-answered-by'),
          body.outputs.find((output) => output.name === 'probs')?.data,
        ]);
      }
      expect(answered).toEqual([
        ['edge', [0.9375, 0.0625]],
        ['cloud', [0, 1]],
        ['edge', [0.875, 0.125]],
        ['cloud', [0, 1]],
        ['edge', [0.03125, 0.96875]],
        ['cloud', [0, 1]],
      ]);
      // Each forwarded request went to the release's own version route, as the client sent it.
      expect(cloudSaw.map((line) => line.split(' ')[0])).toEqual(Array(3).fill('/v2/models/pump/versions/2.0.0/infer'));
      expect(JSON.parse(cloudSaw[0]?.slice(cloudSaw[0].indexOf(' ') + 1) ?? '{}')).toEqual(request([[0.375, 0.625]]));
      const metrics = (await served.call('/metrics')).body as unknown as string;
      expect(metrics).toContain('edgeship_joint_requests_total{model="pump",answered="edge",reason="confident"} 3');
      expect(metrics).toContain(
        'edgeship_joint_requests_total{model="pump",answered="cloud",reason="low-confidence"} 3',
      );
    } finally {
      await served.stop();
    }
  });

  it('keeps the edge answer when the cloud fails, and says so', async () => {
    const served = await site();
    try {
      cloudDown = true;
      const response = await fetch(`${served.base}/v2/models/pump/infer`, {
        method: 'POST',
        body: JSON.stringify(request([[0.375, 0.625]])),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-edgeship-answered-by')).toBe('edge');
      expect(((await response.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([0.375, 0.625]);
      // The top-class probability stands in without a named confidence output: 0.9375 stays at the edge.
      const confident = await fetch(`${served.base}/v2/models/pump/infer`, {
        method: 'POST',
        body: JSON.stringify(request([[0.0625, 0.9375]])),
      });
      expect(confident.headers.get('x-edgeship-answered-by')).toBe('edge');
      const metrics = (await served.call('/metrics')).body as unknown as string;
      expect(metrics).toContain('edgeship_joint_requests_total{model="pump",answered="edge",reason="cloud-failed"} 1');
      expect(metrics).toContain('edgeship_joint_requests_total{model="pump",answered="edge",reason="confident"} 1');
    } finally {
      await served.stop();
      cloudDown = false;
    }
  });
});
