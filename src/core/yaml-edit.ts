import {
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  stringify,
  visit,
  YAMLParseError,
  type Document,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { GitOpsError } from './errors.ts';
import { jsonCopy } from './parse-json.ts';
import { loadYamlData } from './yaml-load.ts';

/** A bot-owned value at a path (a string, a number, or a flag such as includeSelectors); undefined means the key must not exist. */
export type OwnedEdit = [path: (string | number)[], value: OwnedValue | undefined];
type OwnedValue = string | number | boolean;

/**
 * Writes bot-owned values into YAML text and returns the new text. When every owned scalar
 * exists already, the new values are spliced into the original text at their source ranges, so
 * every other byte (comments, blank lines, quoting, order) stays as it was. Structural changes
 * (a new key or list item, a removed one) are spliced as whole lines in block collections, so
 * inline comments, flow style and anchors elsewhere stay too; only what that cannot express
 * falls back to editing the document. `document` is `current` parsed by parseYaml, when the
 * caller parsed it already (it is read, not changed).
 */
export function applyOwnedEdits(
  current: string,
  edits: OwnedEdit[],
  what: string,
  handed: HandedYaml = { document: parseYaml(current) },
): string {
  const attempt = spliceLines(current, edits, what, handed);
  if (typeof attempt === 'string') return attempt;
  if (attempt) {
    // One read says both that the lines are YAML and that they mean what the edits mean: as data
    // (core/yaml-load), through yaml's document only where js-yaml may read otherwise. The
    // document of `current` was let go first: a fleet's record is a large tree to hold twice.
    if (isDeepStrictEqual(loadYamlData(attempt.lines) ?? dataOf(attempt.lines), attempt.expected)) return attempt.lines;
  }
  const edited = (handed.document ?? parseYaml(current)).clone();
  for (const [path, value] of edits) {
    if (value === undefined) {
      if (edited.hasIn(path)) edited.deleteIn(path);
    } else set(edited, path, value, what);
  }
  const text = edited.toString({ lineWidth: 0 });
  return text === current ? current : text;
}

/** YAML text as data through yaml's document; undefined when it is not YAML. */
function dataOf(text: string): unknown {
  const document = parseYaml(text);
  return document.errors.length === 0 ? document.toJS() : undefined;
}

/**
 * `current` parsed, handed to applyOwnedEdits, which lets go of what it no longer needs: the
 * document once the edits are lines, and `data`, the document's toJS, which it changes. `data` is
 * given only when nothing else holds it (zod, say, builds objects of its own for the keys it knows,
 * and edits write only those).
 */
export interface HandedYaml {
  document?: Document | undefined;
  data?: unknown;
}

/** The edits as spliced text (every owned scalar existed), or as lines to check against what the edits mean. */
function spliceLines(
  current: string,
  edits: OwnedEdit[],
  what: string,
  handed: HandedYaml,
): string | { lines: string; expected: unknown } | undefined {
  const document = handed.document ?? parseYaml(current);
  if (document.errors.length > 0)
    throw new GitOpsError(`${what}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  const plain = plainTexts();
  const spliced = splice(current, document, edits, plain);
  if (spliced !== undefined) return spliced;
  // What the edits mean, applied to the data in order; a line splice must mean the same. The
  // handed data when the document has no alias; else a copy through JSON (toJS gives an alias the
  // anchor's own object, which an edit must not change twice; what JSON cannot hold only makes the
  // check fail, and the document edit is used instead).
  const handedData = hasAliases(document) ? undefined : handed.data;
  handed.data = undefined;
  const expected: unknown = handedData ?? jsonCopy(document.toJS());
  for (const [path, value] of edits) setPlain(expected, path, value);
  const lines = spliceStructural(current, document, edits, plain);
  if (lines === undefined) return undefined;
  handed.document = undefined;
  return { lines, expected };
}

const aliased = new WeakSet<Document>();

/** Whether a document parseYaml read has an alias (`*name`) anywhere; any other document counts as having one. */
const hasAliases = (document: Document) => aliased.has(document) || !parsed.has(document);
const parsed = new WeakSet<Document>();

/**
 * parseDocument, with duplicate keys found in one pass: yaml's own check compares each key with
 * every key before it, which costs seconds on a release record of 10,000 targets.
 */
export function parseYaml(text: string): Document {
  const document = parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) return document;
  visit(document, {
    Alias() {
      aliased.add(document);
    },
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          const at = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : 0;
          document.errors.push(
            new YAMLParseError(
              [at, at + 1],
              'DUPLICATE_KEY',
              `Map keys must be unique: "${String(key)}" appears twice`,
            ),
          );
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  parsed.add(document);
  return document;
}

/** Each map's pairs by key, built once per map: YAMLMap.get searches its pairs one by one. */
const indexes = new WeakMap<YAMLMap, Map<unknown, Pair>>();

function pairsOf(map: YAMLMap): Map<unknown, Pair> {
  let index = indexes.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (!index.has(key)) index.set(key, pair);
    }
    indexes.set(map, index);
  }
  return index;
}

/** document.getIn(path, true) through the key indexes, for a document that is read, not edited. */
function nodeAt(document: Document, path: readonly (string | number)[]): unknown {
  let node: unknown = document.contents;
  for (const key of path) {
    if (isMap(node)) node = pairsOf(node).get(key)?.value;
    else if (isSeq(node) && typeof key === 'number') node = node.items[key];
    else return undefined;
    if (node === undefined || node === null) return undefined;
  }
  return node;
}

/** Sets (or deletes, for undefined) a value in plain data, as document.setIn does in a document. */
function setPlain(data: unknown, path: readonly (string | number)[], value: OwnedValue | undefined): void {
  let node = data as Record<string | number, unknown>;
  for (const [index, key] of path.slice(0, -1).entries()) {
    if (node[key] === undefined || node[key] === null) {
      if (value === undefined) return;
      node[key] = typeof path[index + 1] === 'number' ? [] : {};
    }
    if (typeof node[key] !== 'object') return;
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  // A list item goes with the items after it moving up, as YAMLSeq#delete does.
  if (value === undefined && Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else if (value === undefined) delete node[last];
  else node[last] = value;
}

/** Text with edits made at once, each piece copied once (applied one by one, a large file is copied per edit). */
function applyTextEdits(
  text: string,
  edits: readonly { start: number; end: number; text: string; order?: number }[],
): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || (a.order ?? 0) - (b.order ?? 0));
  const pieces: string[] = [];
  let cursor = 0;
  for (const edit of sorted) {
    pieces.push(text.slice(cursor, Math.max(cursor, edit.start)), edit.text);
    cursor = Math.max(cursor, edit.end);
  }
  pieces.push(text.slice(cursor));
  return pieces.join('');
}

function splice(text: string, document: Document, edits: OwnedEdit[], plain: PlainText): string | undefined {
  const replacements: { start: number; end: number; text: string }[] = [];
  for (const [path, value] of edits) {
    const node = nodeAt(document, path);
    if (value === undefined) {
      if (node !== undefined) return undefined;
      continue;
    }
    if (!isScalar(node) || !node.range || node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')
      return undefined;
    if (node.value === value) continue;
    replacements.push({ start: node.range[0], end: node.range[1], text: scalarText(value, node.type, plain) });
  }
  return applyTextEdits(text, replacements);
}

function scalarText(value: OwnedValue, style: Scalar['type'], plain: PlainText): string {
  if (typeof value !== 'string') return String(value);
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (style === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  return plain(value);
}

/** yaml's own rendering of a string as a scalar (quoted where YAML needs it). */
type PlainText = (text: string) => string;

/**
 * PlainText, remembered for the edits of one document: a fleet's record repeats the same keys and
 * values thousands of times, and each yaml.stringify builds a document.
 */
function plainTexts(): PlainText {
  const seen = new Map<string, string>();
  return (text) => {
    let rendered = seen.get(text);
    if (rendered === undefined) {
      rendered = stringify(text, { lineWidth: 0 }).trimEnd();
      seen.set(text, rendered);
    }
    return rendered;
  };
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
 * The caller checks that the result is YAML and means what the edits mean; undefined when lines cannot say it.
 */
function spliceStructural(text: string, document: Document, edits: OwnedEdit[], plain: PlainText): string | undefined {
  const ops: TextEdit[] = [];
  // New entries grouped by the existing collection they go into, in the order of the edits.
  const groups = new Map<string, { collection: YAMLMap | YAMLSeq; tree: Map<string | number, unknown> }>();
  for (const [path, value] of edits) {
    const node = nodeAt(document, path) as Node | undefined;
    if (value === undefined) {
      if (node === undefined) continue;
      const range = leafLine(text, document, path);
      if (!range) return undefined;
      ops.push({ ...range, text: '', order: ops.length });
      continue;
    }
    if (node !== undefined) {
      if (!isScalar(node) || !node.range || node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')
        return undefined;
      if (node.value !== value)
        ops.push({
          start: node.range[0],
          end: node.range[1],
          text: scalarText(value, node.type, plain),
          order: ops.length,
        });
      continue;
    }
    let depth = path.length - 1;
    while (depth > 0 && nodeAt(document, path.slice(0, depth)) === undefined) depth -= 1;
    const collection = depth === 0 ? document.contents : nodeAt(document, path.slice(0, depth));
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
    const insertion = appendAfter(text, collection, tree, plain);
    if (!insertion) return undefined;
    ops.push({ ...insertion, order: ops.length });
  }
  return applyTextEdits(text, ops);
}

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1;
/** The offset just past the newline that ends the line holding `at` (or the text's end). */
const nextLine = (text: string, at: number) => {
  const end = text.indexOf('\n', at);
  return end < 0 ? text.length : end + 1;
};

/** The whole line of a scalar leaf in a block map or list, when the leaf has a line of its own. */
function leafLine(
  text: string,
  document: Document,
  path: (string | number)[],
): { start: number; end: number } | undefined {
  const parent = nodeAt(document, path.slice(0, -1));
  if (!(isMap(parent) || isSeq(parent)) || parent.flow || parent.items.length < 2) return undefined;
  const last = path[path.length - 1];
  const item = isMap(parent) ? (pairsOf(parent).get(last) as Pair<Scalar, unknown> | undefined) : undefined;
  const first = isMap(parent) ? item?.key : (parent.items[last as number] as Node | undefined);
  const value = isMap(parent) ? item?.value : first;
  if (!first || !isScalar(value) || !first.range || !value.range) return undefined;
  const start = lineStart(text, first.range[0]);
  const lead = text.slice(start, first.range[0]);
  if (!/^\s*(- )?$/.test(lead) || (isMap(parent) && lead.includes('-'))) return undefined;
  return { start, end: nextLine(text, value.range[1]) };
}

/** New lines for `tree` after the last entry of a block collection, at its indentation. */
function appendAfter(
  text: string,
  collection: YAMLMap | YAMLSeq,
  tree: Map<string | number, unknown>,
  plain: PlainText,
): { start: number; end: number; text: string } | undefined {
  const last = collection.items[collection.items.length - 1] as Node | Pair<Node, Node>;
  const lastNode = (
    isMap(collection) ? ((last as Pair<Node, Node>).value ?? (last as Pair<Node, Node>).key) : last
  ) as Node | null;
  const firstNode = (
    isMap(collection) ? (collection.items[0] as Pair<Node, Node>).key : collection.items[0]
  ) as Node | null;
  if (!lastNode?.range || !firstNode?.range) return undefined;
  const column = firstNode.range[0] - lineStart(text, firstNode.range[0]);
  const at = nextLine(text, Math.max(lastNode.range[1] - 1, 0));
  const pad = (indent: number) => ' '.repeat(indent);
  const leaf = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? scalarText(value, 'PLAIN', plain)
      : undefined;
  // A new mapping as block lines at `indent`; new lists inside new entries are left to the document edit.
  const renderMap = (entries: Map<string | number, unknown>, indent: number): string[] | undefined => {
    const out: string[] = [];
    for (const [key, value] of entries) {
      if (typeof key === 'number') return undefined;
      const name = `${pad(indent)}${plain(key)}:`;
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
