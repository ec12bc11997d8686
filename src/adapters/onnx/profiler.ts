import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { calibrate, nominalReferenceRunMs } from '../../core/calibration.ts';
import { ModelValidationError } from '../../core/errors.ts';
import type { HardwareProfile } from '../../core/profiles.ts';
import type { ProfileResult } from '../../core/profiling.ts';
import { estimateP95, HOST_NOISE_BOUND, scaleEstimate, scaleSummary, summarize } from '../../core/stats.ts';
import type { ModelProfiler, ProfileOptions } from '../../ports.ts';
import type { ProfileJob, ProfileMeasurement } from './profile-child.ts';

const MIB = 1024 * 1024;

/** Runs `module` (a sibling file of the caller) in a child process, with tsx when it is TypeScript. */
export function forkModule(url: URL) {
  const file = fileURLToPath(url);
  const execArgv = file.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  return fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
}

/** ModelProfiler that measures each profile in a fresh child process. */
export class OnnxProfiler implements ModelProfiler {
  async profile(file: string, name: string, profile: HardwareProfile, options: ProfileOptions): Promise<ProfileResult> {
    const job: ProfileJob = {
      file,
      threads: profile.threads,
      runs: options.runs,
      warmup: options.warmup,
      batch: options.batch,
      rounds: options.rounds ?? 5,
    };
    const tolerance = options.tolerance ?? 0.5;
    const measurement = await runChild(job);
    // Emulated profiles are calibrated against the reference measured beside each round; a
    // device measures itself, so its numbers are its own.
    const nominal = nominalReferenceRunMs(profile.threads);
    const calibrated = () =>
      options.onDevice
        ? { rounds: measurement.rounds, calibration: undefined }
        : calibrate(measurement.rounds, measurement.reference.runMsByRound, nominal, tolerance);
    let { rounds, calibration } = calibrated();
    // An emulated profile's runs are bounded against the host's stalls; a device's tail is its own.
    const bound = options.onDevice ? undefined : HOST_NOISE_BOUND;
    let p95 = estimateP95(rounds, tolerance, bound);
    if (!p95.stable) {
      // The rounds disagree (the machine got busy for a while): measure as many again and
      // decide on all of them; the result says so, and whether they still disagree.
      const again = await runChild(job);
      measurement.rounds.push(...again.rounds);
      measurement.latenciesMs.push(...again.latenciesMs);
      measurement.reference.runMsByRound.push(...again.reference.runMsByRound);
      ({ rounds, calibration } = calibrated());
      p95 = { ...estimateP95(rounds, tolerance, bound), remeasured: true };
    }
    const measured = summarize(measurement.latenciesMs);
    const speedFactor = options.onDevice ? 1 : profile.speedFactor;
    // Times outside the rounds (session creation, the first run) scale by the whole run's reference.
    const hostScale = calibration ? calibration.nominalRunMs / calibration.hostRunMs : 1;
    return {
      profile: name,
      source: options.onDevice ? 'device' : 'emulated',
      threads: profile.threads,
      speedFactor,
      batch: options.batch,
      sessionCreateMs: measurement.sessionCreateMs * hostScale * speedFactor,
      firstInferenceMs: measurement.firstInferenceMs * hostScale * speedFactor,
      measured,
      estimated: scaleSummary(summarize(rounds.flat()), speedFactor),
      p95: scaleEstimate(p95, speedFactor),
      ...(calibration && { calibration }),
      peakMemoryMb: Math.max(0, measurement.peakRssBytes - measurement.baselineRssBytes) / MIB,
      memoryCeilingMb: profile.memoryMb,
    };
  }
}

function runChild(job: ProfileJob): Promise<ProfileMeasurement> {
  return new Promise((resolve, reject) => {
    const child = forkModule(
      new URL(`./profile-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
    );
    let stderr = '';
    let settled = false;
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('message', (message: { ok: true; result: ProfileMeasurement } | { ok: false; error: string }) => {
      settled = true;
      if (message.ok) resolve(message.result);
      else reject(new ModelValidationError(`${job.file}: profiling failed: ${message.error}`));
    });
    child.on('error', (error) => {
      if (!settled)
        reject(new ModelValidationError(`${job.file}: cannot start the profiler: ${error.message}`, { cause: error }));
      settled = true;
    });
    child.on('exit', (code, signal) => {
      if (!settled) {
        settled = true;
        reject(
          new ModelValidationError(
            `${job.file}: the profiler exited (${signal ?? `code ${code}`}) before reporting: ${stderr.trim().slice(-500)}`,
          ),
        );
      }
    });
    child.send(job);
  });
}
