/**
 * The floor any OIP server over HTTP pays, for bench/serving.ts: node:http, JSON.parse, one
 * session.run per request on the main thread (FP32 and INT64 inputs), JSON.stringify. No checks, no batching, no
 * metrics. Run as a child: `minimal-server.ts <model.onnx> <port> <threads>`; says "ready" on IPC.
 */
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';

const [file = '', port = '0', threads = '1'] = process.argv.slice(2);
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: Number(threads),
  graphOptimizationLevel: 'all',
});

interface Request {
  inputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

/** FP32 and INT64, the datatypes the bench's models take, as ONNX Runtime takes them. */
const tensorOf = (input: Request['inputs'][number]) =>
  input.datatype === 'INT64'
    ? new ort.Tensor(
        'int64',
        BigInt64Array.from(input.data, (value) => BigInt(value)),
        input.shape,
      )
    : new ort.Tensor('float32', Float32Array.from(input.data), input.shape);

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request;
    const feeds = Object.fromEntries(body.inputs.map((input) => [input.name, tensorOf(input)]));
    session.run(feeds).then(
      (results) => {
        const outputs = Object.entries(results).map(([name, tensor]) => ({
          name,
          datatype: tensor.type === 'int64' ? 'INT64' : 'FP32',
          shape: tensor.dims,
          data: Array.from(tensor.data as ArrayLike<number | bigint>, Number),
        }));
        const text = JSON.stringify({ model_name: 'pump', outputs });
        response
          .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
          .end(text);
      },
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
});
server.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
