import ort from 'onnxruntime-node';
import { performance } from 'node:perf_hooks';
import { specsOf, syntheticTensor } from './src/adapters/onnx/tensors.ts';
import { sessionOptions } from './src/adapters/onnx/profile-child.ts';
const file = 'node_modules/.cache/edgeship-bench/gru-24x1.onnx';
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const p95 = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(0.95 * (s.length - 1))]!; };
const data = new Float64Array(2048).map((_, i) => i / 2048);
function kernel(): number { let acc = 0; for (let pass = 0; pass < 24; pass++) for (let i = 0; i < data.length; i++) acc = acc * 0.999 + data[i]! * data[(i * 7) & 2047]!; return acc; }
const s = await ort.InferenceSession.create(file, sessionOptions(2));
const feeds = Object.fromEntries(specsOf(s.inputMetadata).map((spec, i) => [spec.name, syntheticTensor(spec, 1, i + 1)]));
let sink = 0;
for (let i = 0; i < 2000; i++) { await s.run(feeds); sink += kernel(); }
const end = performance.now() + Number(process.argv[2] ?? 30) * 1000;
while (performance.now() < end) {
  const m: number[] = [], k: number[] = [];
  const until = performance.now() + 2000;
  while (performance.now() < until) {
    let t = performance.now(); await s.run(feeds); m.push(performance.now() - t);
    if (m.length % 5 === 0) { t = performance.now(); sink += kernel(); k.push(performance.now() - t); }
  }
  console.log(`model p50 ${med(m).toFixed(3)} p95 ${p95(m).toFixed(3)}  kernel p50 ${med(k).toFixed(3)} p95 ${p95(k).toFixed(3)}  ratio p50 ${(med(m) / med(k)).toFixed(3)} p95/kp50 ${(p95(m) / med(k)).toFixed(3)}`);
}
if (sink === 1) console.log(sink);
