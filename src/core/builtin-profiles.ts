/**
 * How to emulate a device on the machine that profiles (see hardwareProfileSchema in
 * profiles.ts, which config files are checked with). Without zod, so the CLI's start-up can
 * name the built-in profiles without loading it.
 */
export interface HardwareProfile {
  description?: string | undefined;
  threads: number;
  memoryMb: number;
  speedFactor: number;
}

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
