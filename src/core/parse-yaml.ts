import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { messageOf } from './errors.ts';
import { describe, issueText, type Fail } from './parse-json.ts';
import { loadYamlData } from './yaml-load.ts';

/**
 * Parses YAML text and validates it with a schema. Every problem is reported at once, each
 * with its path and line, through `fail` (which makes the error the caller throws).
 */
export function parseYamlWith<T extends z.ZodType>(schema: T, text: string, file: string, fail: Fail): z.output<T> {
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

/** An issue of a YAML document, with the line of the value it is about. */
function formatIssue(issue: z.core.$ZodIssue, document: Document, lineCounter: LineCounter): string {
  const node = document.getIn(issue.path, true) as { range?: [number, number, number] } | undefined;
  const position = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
  return issueText(issue, position ? ` (line ${position.line})` : '');
}
