import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { GitOpsError } from './errors.ts';

/** A bot-owned value at a path (a string, a number, or a flag such as includeSelectors); undefined means the key must not exist. */
export type OwnedEdit = [path: (string | number)[], value: OwnedValue | undefined];
type OwnedValue = string | number | boolean;

/**
 * Writes bot-owned values into YAML text and returns the new text. When every owned scalar
 * exists already, the new values are spliced into the original text at their source ranges, so
 * every other byte (comments, blank lines, quoting, order) stays as it was. Structural changes
 * (a new key or list item, a removed one) are spliced as whole lines in block collections, so
 * inline comments, flow style and anchors elsewhere stay too; only what that cannot express
 * falls back to editing the document.
 */
export function applyOwnedEdits(current: string, edits: OwnedEdit[], what: string): string {
  const document = parseDocument(current);
  if (document.errors.length > 0) throw new GitOpsError(`${what}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  const spliced = splice(current, document, edits);
  if (spliced !== undefined) return spliced;
  // What the edits mean, applied to the document in order; a line splice must mean the same.
  const edited = document.clone();
  for (const [path, value] of edits) {
    if (value === undefined) {
      if (edited.hasIn(path)) edited.deleteIn(path);
    } else set(edited, path, value, what);
  }
  const lines = spliceStructural(current, document, edits);
  if (lines !== undefined && isDeepStrictEqual(parseDocument(lines).toJS(), edited.toJS())) return lines;
  const text = edited.toString({ lineWidth: 0 });
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

function scalarText(value: OwnedValue, style: Scalar['type']): string {
  if (typeof value !== 'string') return String(value);
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (style === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function set(document: Document, path: (string | number)[], value: OwnedValue, what: string): void {
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

interface TextEdit {
  start: number;
  end: number;
  text: string;
  order: number;
}

/**
 * Structural edits as line splices: a removed leaf takes its line with it, new keys and list
 * items become new lines after the last entry of their block collection, at its indentation.
 * The caller checks that the result means what the edits mean; undefined when lines cannot say it.
 */
function spliceStructural(text: string, document: Document, edits: OwnedEdit[]): string | undefined {
  const ops: TextEdit[] = [];
  // New entries grouped by the existing collection they go into, in the order of the edits.
  const groups = new Map<string, { collection: YAMLMap | YAMLSeq; tree: Map<string | number, unknown> }>();
  for (const [path, value] of edits) {
    const node = document.getIn(path, true) as Node | undefined;
    if (value === undefined) {
      if (node === undefined) continue;
      const range = leafLine(text, document, path);
      if (!range) return undefined;
      ops.push({ ...range, text: '', order: ops.length });
      continue;
    }
    if (node !== undefined) {
      if (!isScalar(node) || !node.range || node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') return undefined;
      if (node.value !== value) ops.push({ start: node.range[0], end: node.range[1], text: scalarText(value, node.type), order: ops.length });
      continue;
    }
    let depth = path.length - 1;
    while (depth > 0 && !document.hasIn(path.slice(0, depth))) depth -= 1;
    const collection = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    if (!(isMap(collection) || isSeq(collection)) || collection.flow || collection.items.length === 0) return undefined;
    const key = JSON.stringify(path.slice(0, depth));
    const group = groups.get(key) ?? { collection, tree: new Map<string | number, unknown>() };
    groups.set(key, group);
    let tree = group.tree;
    for (const part of path.slice(depth, -1)) {
      if (!tree.has(part)) tree.set(part, new Map());
      const next: unknown = tree.get(part);
      if (!(next instanceof Map)) return undefined;
      tree = next as Map<string | number, unknown>;
    }
    tree.set(path[path.length - 1]!, value);
  }
  for (const { collection, tree } of groups.values()) {
    const insertion = appendAfter(text, collection, tree);
    if (!insertion) return undefined;
    ops.push({ ...insertion, order: ops.length });
  }
  const result = ops
    .sort((a, b) => b.start - a.start || b.order - a.order)
    .reduce((result, op) => result.slice(0, op.start) + op.text + result.slice(op.end), text);
  return parseDocument(result).errors.length === 0 ? result : undefined;
}

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1;
/** The offset just past the newline that ends the line holding `at` (or the text's end). */
const nextLine = (text: string, at: number) => {
  const end = text.indexOf('\n', at);
  return end < 0 ? text.length : end + 1;
};

/** The whole line of a scalar leaf in a block map or list, when the leaf has a line of its own. */
function leafLine(text: string, document: Document, path: (string | number)[]): { start: number; end: number } | undefined {
  const parent = document.getIn(path.slice(0, -1), true);
  if (!(isMap(parent) || isSeq(parent)) || parent.flow || parent.items.length < 2) return undefined;
  const last = path[path.length - 1];
  const item = isMap(parent) ? (parent.items.find((pair) => isScalar(pair.key) && pair.key.value === last) as Pair<Scalar, unknown> | undefined) : undefined;
  const first = isMap(parent) ? item?.key : (parent.items[last as number] as Node | undefined);
  const value = isMap(parent) ? item?.value : first;
  if (!first || !isScalar(value) || !first.range || !value.range) return undefined;
  const start = lineStart(text, first.range[0]);
  const lead = text.slice(start, first.range[0]);
  if (!/^\s*(- )?$/.test(lead) || (isMap(parent) && lead.includes('-'))) return undefined;
  return { start, end: nextLine(text, value.range[1]) };
}

/** New lines for `tree` after the last entry of a block collection, at its indentation. */
function appendAfter(text: string, collection: YAMLMap | YAMLSeq, tree: Map<string | number, unknown>): { start: number; end: number; text: string } | undefined {
  const last = collection.items[collection.items.length - 1] as Node | Pair<Node, Node>;
  const lastNode = (isMap(collection) ? (last as Pair<Node, Node>).value ?? (last as Pair<Node, Node>).key : last) as Node | null;
  const firstNode = (isMap(collection) ? (collection.items[0] as Pair<Node, Node>).key : collection.items[0]) as Node | null;
  if (!lastNode?.range || !firstNode?.range) return undefined;
  const column = firstNode.range[0] - lineStart(text, firstNode.range[0]);
  const at = nextLine(text, Math.max(lastNode.range[1] - 1, 0));
  const pad = (indent: number) => ' '.repeat(indent);
  const leaf = (value: unknown) => (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? scalarText(value, 'PLAIN') : undefined);
  // A new mapping as block lines at `indent`; new lists inside new entries are left to the document edit.
  const renderMap = (entries: Map<string | number, unknown>, indent: number): string[] | undefined => {
    const out: string[] = [];
    for (const [key, value] of entries) {
      if (typeof key === 'number') return undefined;
      const name = `${pad(indent)}${stringify(key, { lineWidth: 0 }).trimEnd()}:`;
      if (value instanceof Map) {
        const inner = renderMap(value as Map<string | number, unknown>, indent + 2);
        if (!inner) return undefined;
        out.push(name, ...inner);
      } else {
        const text = leaf(value);
        if (text === undefined) return undefined;
        out.push(`${name} ${text}`);
      }
    }
    return out;
  };
  const lines: string[] = [];
  if (isSeq(collection)) {
    const lead = text.slice(lineStart(text, firstNode.range[0]), firstNode.range[0]);
    if (!/^\s*- $/.test(lead)) return undefined;
    const indent = lead.length;
    for (const value of tree.values()) {
      if (value instanceof Map) {
        const inner = renderMap(value as Map<string | number, unknown>, indent);
        if (!inner?.length) return undefined;
        lines.push(`${pad(indent - 2)}- ${inner[0]!.slice(indent)}`, ...inner.slice(1));
      } else {
        const text = leaf(value);
        if (text === undefined) return undefined;
        lines.push(`${pad(indent - 2)}- ${text}`);
      }
    }
  } else {
    const inner = renderMap(tree, column);
    if (!inner) return undefined;
    lines.push(...inner);
  }
  const needsNewline = at === text.length && !text.endsWith('\n');
  return { start: at, end: at, text: `${needsNewline ? '\n' : ''}${lines.join('\n')}\n` };
}
