import type { Calibration } from './calibration.ts';
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
  /**
   * Measured latencies, calibrated round by round against the reference workload (emulated
   * profiles), times the profile's speed factor: the estimate for the device.
   */
  estimated: LatencySummary;
  /**
   * The device p95 from rounds, with its interval: what placement decides on. Absent in results
   * from before rounds (or a device that sent one list), where `estimated.p95Ms` decides.
   */
  p95?: P95Estimate;
  /** How the rounds were scaled to the nominal host; absent on a device and in older results. */
  calibration?: Calibration;
  /** Peak resident memory the model added to a process that had only loaded the runtime. */
  peakMemoryMb: number;
  memoryCeilingMb: number;
}
