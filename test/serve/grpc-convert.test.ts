import { describe, expect, it } from 'vitest';
import { outputsOfAnswer } from '../../src/serve/grpc/convert.ts';

const json = (body: unknown) => Buffer.from(JSON.stringify(body));
const answer = (output: object) =>
  json({ model_name: 'pump', model_version: '1.0.0', outputs: [{ name: 'forecast', datatype: 'FP32', ...output }] });

describe('a forwarded REST answer as gRPC outputs', () => {
  it('reads JSON data and binary data by binary_data_size', () => {
    expect(outputsOfAnswer(200, {}, answer({ shape: [1, 2], data: [1.5, 2.5] })).outputs).toEqual([
      { name: 'forecast', dtype: 'float32', dims: [1, 2], data: new Float32Array([1.5, 2.5]) },
    ]);
    const header = answer({ shape: [2], parameters: { binary_data_size: 8 } });
    const body = Buffer.concat([header, Buffer.from(new Float32Array([3, 4]).buffer)]);
    expect(
      outputsOfAnswer(200, { 'inference-header-content-length': String(header.length) }, body).outputs[0]?.data,
    ).toEqual(new Float32Array([3, 4]));
  });

  it.each([
    ['a shape that is not a list', { shape: 'big', data: [] }, 'with shape "big"'],
    [
      'a shape of a billion values and no data to match (nothing is allocated for it)',
      { shape: [1e9], data: [1] },
      '1 values for shape [1000000000]',
    ],
    ['values that are not its datatype', { shape: [1], data: ['x'] }, 'values that are not FP32'],
    ['a binary size past the body', { shape: [2], parameters: { binary_data_size: 800 } }, 'bytes for 2 FP32 values'],
  ])('refuses %s with a 502 naming it', (_what, output, message) => {
    expect(() => outputsOfAnswer(200, {}, answer(output))).toThrow(message);
  });

  it("passes the cloud's 4xx and 504 on with its message; anything else is a 502", () => {
    expect(() => outputsOfAnswer(400, {}, json({ error: 'input "readings": bad' }))).toThrow(
      expect.objectContaining({ status: 400, message: 'the cloud answered 400: input "readings": bad' }),
    );
    expect(() => outputsOfAnswer(504, {}, json({ error: 'slow' }))).toThrow(expect.objectContaining({ status: 504 }));
    expect(() => outputsOfAnswer(418, {}, json({ error: 'teapot' }))).toThrow(expect.objectContaining({ status: 502 }));
    expect(() => outputsOfAnswer(200, {}, Buffer.from('<html>'))).toThrow(expect.objectContaining({ status: 502 }));
  });
});
