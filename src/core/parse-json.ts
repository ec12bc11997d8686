import type { z } from 'zod';
import { messageOf } from './errors.ts';

/**
 * Every file or body edgeship reads from outside is read here or in parse-yaml.ts, held to a zod
 * schema: JSON by parseJsonWith (or parseJson, for a body a checker of its own reads on), YAML by
 * parseYamlWith. Each problem is one line, `path: expected …, found …`, written by issueText;
 * `fail` makes the error the caller throws from those lines, so each caller keeps its own kind of
 * error. Nothing here loads a library: the CLI reads its package.json through it at start.
 */

/** Makes the error a caller throws from the problems found, each a line. */
export type Fail = (issues: string[]) => Error;

/**
 * JSON text as data. Text that does not parse fails with one issue: "expected JSON `what`,
 * found text that does not parse (…)", or without `what`, "invalid JSON (…)".
 */
export function parseJson(text: string, fail: Fail, what?: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const found = messageOf(error);
    throw fail([what ? `expected JSON ${what}, found text that does not parse (${found})` : `invalid JSON (${found})`]);
  }
}

/** JSON text as data, or undefined when it does not parse: for text that may be JSON or a sentence. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A deep copy of data through JSON: a value reached twice (a YAML alias) becomes two values. */
export function jsonCopy(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
}

/** JSON text held to `schema`: every problem at once, each with its path. */
export function parseJsonWith<T extends z.ZodType>(schema: T, text: string, fail: Fail, what?: string): z.output<T> {
  return checkWith(schema, parseJson(text, fail, what), fail);
}

/** Data already read (a webhook's payload, an environment) held to `schema`: every problem at once, each with its path. */
export function checkWith<T extends z.ZodType>(schema: T, data: unknown, fail: Fail): z.output<T> {
  const result = schema.safeParse(data, { reportInput: true });
  if (!result.success) throw fail(result.error.issues.map((issue) => issueText(issue)));
  return result.data;
}

/** `path: what was expected, found what`; `at` is said after the path (a line). */
export function issueText(issue: z.core.$ZodIssue, at = ''): string {
  return `${formatPath(issue.path) || '(top level)'}${at}: ${issueMessage(issue)}`;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `expected ${issue.expected}, found nothing (the field is required)`
        : `expected ${issue.expected}, found ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}, found ${describe(issue.input)}`;
    case 'too_small':
    case 'too_big':
      return `${issue.message.replace(/^Too (small|big): /, '')}, found ${describe(issue.input)}`;
    default:
      return issue.message;
  }
}

/** `targets[1].latencyBudgetMs`, the way a person would point at it. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text ? `${text}.${String(key)}` : String(key);
  }, '');
}

/** A value as an error says what was found: JSON for strings and numbers, the kind of anything bigger. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
