/**
 * The floor any OIP server over HTTP pays, for bench/serving.ts: node:http, JSON.parse, one
 * session.run per request on the main thread, JSON.stringify. No checks, no batching, no
 * metrics. Run as a child: `minimal-server.ts <model.onnx> <port> <threads>`; says "ready" on IPC.
 */
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';

const [file = '', port = '0', threads = '1'] = process.argv.slice(2);
const session = await ort.InferenceSession.create(file, { intraOpNumThreads: Number(threads), graphOptimizationLevel: 'all' });

interface Request {
  inputs: { name: string; shape: number[]; data: number[] }[];
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request;
    const feeds = Object.fromEntries(body.inputs.map((input) => [input.name, new ort.Tensor('float32', Float32Array.from(input.data), input.shape)]));
    session.run(feeds).then((results) => {
      const outputs = Object.entries(results).map(([name, tensor]) => ({ name, datatype: 'FP32', shape: tensor.dims, data: Array.from(tensor.data as Float32Array) }));
      const text = JSON.stringify({ model_name: 'pump', outputs });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    }, (error: Error) => response.writeHead(500).end(error.message));
  });
});
server.listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
