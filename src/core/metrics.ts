import { z } from 'zod';
import { ModelValidationError } from './errors.ts';
import { finite } from './formats.ts';
import { parseJson } from './parse-json.ts';

export type Metrics = Record<string, number>;

const NON_FINITE = '<edgeship:non-finite>';

/**
 * Parses metrics.json: a flat object of finite numbers that holds the primary metric.
 * Python's json module writes NaN and Infinity as bare words, which JSON rejects; they are
 * caught here so the error can name the field rather than a character offset.
 */
export function parseMetrics(text: string, primary: string, file = 'metrics.json'): Metrics {
  const marked = text.replace(/(:\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, `$1"${NON_FINITE}$2"`);
  const data = parseJson(marked, (issues) => new ModelValidationError(`${file}: ${issues.join('; ')}`), 'metrics');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ModelValidationError(`${file}: expected an object of metric names to numbers`);
  }
  const metrics: Metrics = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'number' && Number.isFinite(value)) metrics[key] = value;
    else if (typeof value === 'string' && value.startsWith(NON_FINITE))
      problems.push(`"${key}" is ${value.slice(NON_FINITE.length)}`);
    else if (key === primary) problems.push(`"${key}" is ${JSON.stringify(value)}`);
  }
  if (!(primary in metrics) && !problems.some((problem) => problem.startsWith(`"${primary}"`))) {
    problems.push(
      `the primary metric "${primary}" is missing (found ${Object.keys(metrics).join(', ') || 'no metrics'})`,
    );
  }
  if (problems.length > 0) {
    throw new ModelValidationError(`${file}: expected finite numbers, but ${problems.join('; ')}`);
  }
  return metrics;
}

export const metricDeltaSchema = z.object({
  name: z.string().min(1).max(200),
  value: finite,
  baseline: finite.optional(),
  delta: finite.optional(),
});
export type MetricDelta = z.infer<typeof metricDeltaSchema>;

export function metricDeltas(metrics: Metrics, baseline: Metrics | undefined): MetricDelta[] {
  return Object.entries(metrics).map(([name, value]) => {
    const before = baseline?.[name];
    return before === undefined ? { name, value } : { name, value, baseline: before, delta: value - before };
  });
}
