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

export type HardwareProfile = z.infer<typeof hardwareProfileSchema>;

/** Profiles every config can name without declaring them. */
export const BUILTIN_PROFILES: Readonly<Record<string, HardwareProfile>> = {
  'jetson-xavier-nx': {
    description: 'NVIDIA Jetson Xavier NX, 6-core Carmel ARM CPU, 8 GB shared memory (CPU inference)',
    threads: 2,
    memoryMb: 1024,
    speedFactor: 4,
  },
  'jetson-orin-nano': {
    description: 'NVIDIA Jetson Orin Nano, 6-core Cortex-A78AE, 8 GB shared memory (CPU inference)',
    threads: 2,
    memoryMb: 1024,
    speedFactor: 2.5,
  },
  'cloud-cpu': {
    description: 'Cloud server CPU (Xeon class), inference pod with 2 cores',
    threads: 2,
    memoryMb: 8192,
    speedFactor: 1,
  },
};

/** The named profile from the config, else the built-in one. */
export function resolveProfile(name: string, declared: Record<string, HardwareProfile>): HardwareProfile {
  const profile = declared[name] ?? BUILTIN_PROFILES[name];
  if (!profile) throw new Error(`Unknown hardware profile "${name}"`);
  return profile;
}
