import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type EdgeshipConfig } from './config.ts';
import { ConfigError, messageOf } from './errors.ts';
import { loadYamlData } from './yaml-load.ts';

/** Parses and validates the text of `.github/edgeship.yml`; `file` is only used in errors. */
export function parseConfig(text: string, file: string): EdgeshipConfig {
  return parseYamlWith(configSchema, text, file, (issues) => new ConfigError(file, issues));
}

/**
 * Parses YAML text and validates it with a schema. Every problem is reported at once, each
 * with its path and line, through `fail` (which makes the error the caller throws).
 */
export function parseYamlWith<T extends z.ZodType>(
  schema: T,
  text: string,
  file: string,
  fail: (issues: string[]) => Error,
): z.output<T> {
  // Most text is valid: read as data the fast way (core/yaml-load), and only text with a problem
  // through yaml's document, whose ranges give each problem its line.
  const fast = loadYamlData(text);
  if (fast !== null && typeof fast === 'object' && !Array.isArray(fast)) {
    const result = schema.safeParse(fast);
    if (result.success) return result.data;
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true });
  if (document.errors.length > 0) {
    throw fail(
      document.errors.map((error) => {
        const at = error.linePos?.[0];
        return `${at ? `line ${at.line}, column ${at.col}: ` : ''}invalid YAML: ${error.message.split('\n')[0]}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    // yaml's alias limit: a few lines that would expand to millions of nodes.
    throw fail([`invalid YAML: ${messageOf(error)}`]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw fail([`expected a mapping at the top level, found ${describe(data)}`]);
  const result = schema.safeParse(data, { reportInput: true });
  if (!result.success) throw fail(result.error.issues.map((issue) => formatIssue(issue, document, lineCounter)));
  return result.data;
}

function formatIssue(issue: z.core.$ZodIssue, document: Document, lineCounter: LineCounter): string {
  const path = formatPath(issue.path);
  const node = document.getIn(issue.path, true) as { range?: [number, number, number] } | undefined;
  const position = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
  const where = `${path || '(top level)'}${position ? ` (line ${position.line})` : ''}`;
  return `${where}: ${issueMessage(issue)}`;
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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
