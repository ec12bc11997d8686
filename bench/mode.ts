/**
 * Smoke mode (`npm run bench -- --smoke`, or EDGESHIP_BENCH_SMOKE=1): every bench part runs at
 * small sizes and for seconds, so CI runs each one and a bench that breaks fails CI. Its figures
 * are not measurements: no aim is judged in smoke mode.
 */
export const SMOKE = process.argv.includes('--smoke') || process.env.EDGESHIP_BENCH_SMOKE === '1';

/** The full value, or the small one in smoke mode. */
export const sized = <T>(full: T, smoke: T): T => (SMOKE ? smoke : full);
