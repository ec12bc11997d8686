import { z } from 'zod';
import { calibrationSchema } from './calibration.ts';
import { finite } from './formats.ts';
import { latencySummarySchema, p95EstimateSchema } from './stats.ts';

/** What the profiler measured for one hardware profile. */
export const profileResultSchema = z.object({
  profile: z.string().min(1).max(100),
  /** `device`: measured on the target hardware itself; `emulated`: on this host, scaled. */
  source: z.enum(['emulated', 'device']),
  threads: z.number().int().positive(),
  speedFactor: finite,
  batch: z.number().int().positive(),
  sessionCreateMs: finite,
  firstInferenceMs: finite,
  /** Latencies measured on this host. */
  measured: latencySummarySchema,
  /**
   * Measured latencies, calibrated round by round against the reference workload (emulated
   * profiles), times the profile's speed factor: the estimate for the device.
   */
  estimated: latencySummarySchema,
  /**
   * The device p95 from rounds, with its interval: what placement decides on. Absent in results
   * from before rounds (or a device that sent one list), where `estimated.p95Ms` decides.
   */
  p95: p95EstimateSchema.optional(),
  /** How the rounds were scaled to the nominal host; absent on a device and in older results. */
  calibration: calibrationSchema.optional(),
  /** Peak resident memory the model added to a process that had only loaded the runtime. */
  peakMemoryMb: finite,
  memoryCeilingMb: finite,
});
export type ProfileResult = z.infer<typeof profileResultSchema>;
