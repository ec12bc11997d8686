import { isMap, isScalar, parseDocument, stringify, type Document, type Scalar } from 'yaml';
import { GitOpsError } from './errors.ts';

/** A bot-owned value at a path; undefined means the key must not exist. */
export type OwnedEdit = [path: (string | number)[], value: string | undefined];

/**
 * Writes bot-owned values into YAML text and returns the new text. When every owned scalar
 * exists already, the new values are spliced into the original text at their source ranges, so
 * every other byte (comments, blank lines, quoting, order) stays as it was. Structural changes
 * (a new key, a removed one) fall back to editing the document, which keeps comments.
 */
export function applyOwnedEdits(current: string, edits: OwnedEdit[], what: string): string {
  const document = parseDocument(current);
  if (document.errors.length > 0) throw new GitOpsError(`${what}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  const spliced = splice(current, document, edits);
  if (spliced !== undefined) return spliced;
  for (const [path, value] of edits) {
    if (value === undefined) {
      if (document.hasIn(path)) document.deleteIn(path);
    } else set(document, path, value, what);
  }
  const text = document.toString({ lineWidth: 0 });
  return text === current ? current : text;
}

function splice(text: string, document: Document, edits: OwnedEdit[]): string | undefined {
  const replacements: { start: number; end: number; text: string }[] = [];
  for (const [path, value] of edits) {
    const node = document.getIn(path, true);
    if (value === undefined) {
      if (node !== undefined) return undefined;
      continue;
    }
    if (!isScalar(node) || !node.range || node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') return undefined;
    if (node.value === value) continue;
    replacements.push({ start: node.range[0], end: node.range[1], text: scalarText(value, node.type) });
  }
  return replacements
    .sort((a, b) => b.start - a.start)
    .reduce((result, edit) => result.slice(0, edit.start) + edit.text + result.slice(edit.end), text);
}

function scalarText(value: string, style: Scalar['type']): string {
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (style === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function set(document: Document, path: (string | number)[], value: string, what: string): void {
  const node = document.getIn(path, true);
  if (isScalar(node)) {
    if (node.value !== value) node.value = value;
    return;
  }
  const parent = document.getIn(path.slice(0, -1), true);
  if (parent !== undefined && !isMap(parent) && typeof path[path.length - 1] !== 'number') {
    throw new GitOpsError(`${what}: expected ${path.slice(0, -1).join('.')} to be a mapping`);
  }
  document.setIn(path, value);
}

/** YAML text with a header comment, one line per entry, as yaml itself prints one. */
export function withHeader(text: string, header: string[]): string {
  return `${header.map((line) => `# ${line}`).join('\n')}\n\n${text}`;
}
