import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Where the kernel reports pressure: PSI files and the cgroup v2 directory of this container. */
export interface PressureFiles {
  cpu: string;
  memory: string;
  cgroup: string;
}

export const KERNEL_FILES: PressureFiles = {
  cpu: '/proc/pressure/cpu',
  memory: '/proc/pressure/memory',
  cgroup: '/sys/fs/cgroup',
};

/** Shares of the last interval (0–1); undefined where this kernel or container has no such file. */
export interface PressureSample {
  cpu: number | undefined;
  memory: number | undefined;
  throttled: number | undefined;
  /** CPU this process used, as a share of all the gateway's cores. */
  ownCpu: number;
  /** The interval the shares are over, in ms. */
  intervalMs: number;
}

interface Totals {
  atMs: number;
  cpuStallUs: number | undefined;
  memoryStallUs: number | undefined;
  throttledUs: number | undefined;
  ownCpuUs: number;
}

/** The `total=` of the "some" line of a PSI file (µs stalled since boot). */
function psiTotal(file: string): number | undefined {
  try {
    const match = /^some .*\btotal=(\d+)/m.exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `throttled_usec` of the cgroup's cpu.stat, only when a CPU quota is set (otherwise nothing throttles). */
function throttledTotal(cgroup: string): number | undefined {
  try {
    if (readFileSync(join(cgroup, 'cpu.max'), 'utf8').startsWith('max')) return undefined;
    const match = /^throttled_usec (\d+)/m.exec(readFileSync(join(cgroup, 'cpu.stat'), 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The gateway's resource pressure, from counters the kernel keeps anyway: the share of time some
 * task waited for CPU or memory (PSI, Linux ≥ 4.20), the share of time the container's CPU quota
 * was used up (cgroup v2 cpu.stat), and this process's own CPU use. Each `sample()` returns the
 * shares since the previous one: a few small reads of in-memory files.
 */
export class GatewayPressure {
  private last: Totals;

  constructor(
    private readonly files: PressureFiles = KERNEL_FILES,
    private readonly cores = availableParallelism(),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = this.totals();
  }

  private totals(): Totals {
    const usage = process.cpuUsage();
    return {
      atMs: this.now(),
      cpuStallUs: psiTotal(this.files.cpu),
      memoryStallUs: psiTotal(this.files.memory),
      throttledUs: throttledTotal(this.files.cgroup),
      ownCpuUs: usage.user + usage.system,
    };
  }

  sample(): PressureSample {
    const next = this.totals();
    const previous = this.last;
    this.last = next;
    const intervalUs = Math.max(1, (next.atMs - previous.atMs) * 1000);
    const share = (after: number | undefined, before: number | undefined) =>
      after === undefined || before === undefined ? undefined : Math.min(1, Math.max(0, (after - before) / intervalUs));
    return {
      cpu: share(next.cpuStallUs, previous.cpuStallUs),
      memory: share(next.memoryStallUs, previous.memoryStallUs),
      throttled: share(next.throttledUs, previous.throttledUs),
      ownCpu: Math.max(0, (next.ownCpuUs - previous.ownCpuUs) / intervalUs / this.cores),
      intervalMs: intervalUs / 1000,
    };
  }
}
