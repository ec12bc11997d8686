import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics, in a registry of its own (no global state). */
export function servingMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'edgeship_serve_' });
  return {
    registry,
    requests: new Counter({
      name: 'edgeship_inference_requests_total',
      help: 'Infer requests by model and HTTP status.',
      labelNames: ['model', 'code'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'edgeship_inference_duration_seconds',
      help: 'Time to answer an infer request, by model and where it ran (local or forwarded).',
      labelNames: ['model', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batch: new Histogram({
      name: 'edgeship_inference_batch_size',
      help: 'Rows per infer request.',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    joint: new Counter({
      name: 'edgeship_joint_requests_total',
      help: 'A joint site: requests answered by the edge model (confident, or the cloud failed) or by the cloud model (low confidence).',
      labelNames: ['model', 'answered', 'reason'],
      registers: [registry],
    }),
    routes: new Counter({
      name: 'edgeship_offload_requests_total',
      help: 'Infer requests run locally, forwarded to the cloud, or run locally because the cloud failed.',
      labelNames: ['model', 'route'],
      registers: [registry],
    }),
    drift: new Gauge({
      name: 'edgeship_drift_psi',
      help: 'Population stability index of the last full window of each input feature.',
      labelNames: ['model', 'feature'],
      registers: [registry],
    }),
    adaptivePath: new Gauge({
      name: 'edgeship_adaptive_path',
      help: 'An adaptive site: 1 for the path requests take now (local or cloud) and the reason.',
      labelNames: ['model', 'path', 'reason'],
      registers: [registry],
    }),
    adaptiveEstimate: new Gauge({
      name: 'edgeship_adaptive_estimate_seconds',
      help: 'An adaptive site: the expected latency of each path (recent p99; local with its queue).',
      labelNames: ['model', 'path'],
      registers: [registry],
    }),
    adaptiveSignal: new Gauge({
      name: 'edgeship_adaptive_signal_ratio',
      help: 'An adaptive site: the gateway signals routing decides on (CPU and memory pressure, CPU throttling, the CPU share local inference would take and, in the cloud, the load all requests would put on the local path).',
      labelNames: ['model', 'signal'],
      registers: [registry],
    }),
    adaptiveSwitches: new Counter({
      name: 'edgeship_adaptive_switches_total',
      help: 'An adaptive site: switches between the local model and the cloud, by the path taken and the reason.',
      labelNames: ['model', 'to', 'reason'],
      registers: [registry],
    }),
    adaptiveProbes: new Counter({
      name: 'edgeship_adaptive_probes_total',
      help: 'An adaptive site: shadow requests sent to the path not in use (answers discarded) to keep its estimate fresh.',
      labelNames: ['model', 'path'],
      registers: [registry],
    }),
    signatureRefusals: new Counter({
      name: 'edgeship_model_signature_refusals_total',
      help: 'Models refused because their signature was missing, invalid, by a key not trusted, or not of their files.',
      labelNames: ['model'],
      registers: [registry],
    }),
    evidence: new Counter({
      name: 'edgeship_drift_evidence_total',
      help: 'Drift evidence sent, by outcome.',
      labelNames: ['model', 'outcome'],
      registers: [registry],
    }),
  };
}

export type ServingMetrics = ReturnType<typeof servingMetrics>;
