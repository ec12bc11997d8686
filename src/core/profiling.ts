import type { LatencySummary, P95Estimate } from './stats.ts';

/** What the profiler measured for one hardware profile. */
export interface ProfileResult {
  profile: string;
  /** `device`: measured on the target hardware itself; `emulated`: on this host, scaled. */
  source: 'emulated' | 'device';
  threads: number;
  speedFactor: number;
  batch: number;
  sessionCreateMs: number;
  firstInferenceMs: number;
  /** Latencies measured on this host. */
  measured: LatencySummary;
  /** Measured latencies times the profile's speed factor: the estimate for the device. */
  estimated: LatencySummary;
  /**
   * The device p95 from rounds, with its interval: what placement decides on. Absent in results
   * from before rounds (or a device that sent one list), where `estimated.p95Ms` decides.
   */
  p95?: P95Estimate;
  /** Peak resident memory the model added to a process that had only loaded the runtime. */
  peakMemoryMb: number;
  memoryCeilingMb: number;
}
