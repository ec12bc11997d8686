import { z } from 'zod';

/**
 * How to emulate a device on the machine that profiles: ONNX Runtime gets `threads` intra-op
 * threads, measured peak memory is checked against `memoryMb`, and measured latencies are
 * multiplied by `speedFactor` (device time / host time for this kind of model, calibrated once on
 * the device; 1 when the profiler runs on the device itself).
 */
export const hardwareProfileSchema = z.strictObject({
  description: z.string().optional(),
  threads: z.number().int().positive().describe('ONNX Runtime intra-op threads.'),
  memoryMb: z.number().positive().describe('Memory ceiling of the device for the model process, in MiB.'),
  speedFactor: z.number().positive().default(1).describe('Device latency divided by host latency.'),
});

export { BUILTIN_PROFILES, resolveProfile, type HardwareProfile } from './builtin-profiles.ts';
