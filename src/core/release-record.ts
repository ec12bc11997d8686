import { isMap, isScalar, parseDocument, stringify, type Document, type Scalar } from 'yaml';
import { z } from 'zod';
import { GitOpsError } from './errors.ts';
import type { PlacementChoice } from './placement.ts';

/** Path of a model's release record inside the GitOps repo. */
export const releaseRecordPath = (directory: string, model: string) => `${directory.replace(/\/+$/, '')}/${model}/release.yaml`;

const recordSchema = z.object({
  model: z.string(),
  version: z.string(),
  artifact: z.object({ reference: z.string(), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/) }),
  targets: z
    .record(z.string(), z.object({ placement: z.string(), version: z.string(), digest: z.string(), offloadTo: z.string().optional() }).loose())
    .default({}),
});

export type ReleaseRecord = z.infer<typeof recordSchema>;

/** The bot-owned values a release writes. */
export interface ReleaseUpdate {
  model: string;
  version: string;
  reference: string;
  digest: string;
  targets: { name: string; choice: PlacementChoice; offloadTo?: string }[];
}

/** Reads the deployed release from a record's text; `file` names it in errors. */
export function parseReleaseRecord(text: string, file: string): ReleaseRecord {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new GitOpsError(`${file}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  const result = recordSchema.safeParse(document.toJS());
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new GitOpsError(`${file}: not an edgeship release record: ${issue?.path.join('.') || '(top level)'}: ${issue?.message}`);
  }
  return result.data;
}

const HEADER = (model: string) =>
  [
    `Release record of ${model}, written by edgeship.`,
    'edgeship owns version, artifact and targets.<name>.{placement,version,digest,offloadTo};',
    'everything else here, comments included, is yours and is kept as it is.',
  ]
    .map((line) => ` ${line}`)
    .join('\n');

/**
 * Writes a release into a record and returns the new text; `undefined` creates the record.
 * Only bot-owned fields change. When they all exist already, the new values are spliced into the
 * original text at their source ranges, so every other byte (comments, blank lines, quoting,
 * order) stays as it was. Adding a target or an `offloadTo` falls back to editing the YAML
 * document, which keeps comments but may normalise spacing. A target not in `update.targets`
 * is left as it is, which is how a rollout wave updates some sites and not others.
 */
export function writeReleaseRecord(current: string | undefined, update: ReleaseUpdate): string {
  const document = current === undefined ? newRecord(update.model) : parseDocument(current);
  if (document.errors.length > 0) throw new GitOpsError(`release record of ${update.model}: invalid YAML: ${document.errors[0]?.message}`);
  const edits = ownedValues(update);
  if (current !== undefined) {
    const spliced = splice(current, document, edits);
    if (spliced !== undefined) return spliced;
  }
  for (const [path, value] of edits) {
    if (value === undefined) {
      if (document.hasIn(path)) document.deleteIn(path);
    } else set(document, path, value);
  }
  const text = document.toString({ lineWidth: 0 });
  return current !== undefined && text === current ? current : text;
}

type Edit = [path: string[], value: string | undefined];

/** Every bot-owned path with its new value; undefined means the key must not exist. */
function ownedValues(update: ReleaseUpdate): Edit[] {
  const edits: Edit[] = [
    [['version'], update.version],
    [['artifact', 'reference'], update.reference],
    [['artifact', 'digest'], update.digest],
  ];
  for (const target of update.targets) {
    edits.push(
      [['targets', target.name, 'placement'], target.choice],
      [['targets', target.name, 'version'], update.version],
      [['targets', target.name, 'digest'], update.digest],
      [['targets', target.name, 'offloadTo'], target.offloadTo],
    );
  }
  return edits;
}

/** The text with each scalar replaced in place, or undefined when the structure must change. */
function splice(text: string, document: Document, edits: Edit[]): string | undefined {
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

function newRecord(model: string): Document {
  const document = parseDocument(`apiVersion: edgeship.io/v1alpha1\nkind: ModelRelease\nmodel: ${model}\n`);
  document.commentBefore = HEADER(model);
  return document;
}

function set(document: Document, path: string[], value: string): void {
  const node = document.getIn(path, true);
  if (isScalar(node)) {
    if (node.value !== value) node.value = value;
    return;
  }
  const parent = document.getIn(path.slice(0, -1), true);
  if (parent !== undefined && !isMap(parent)) {
    throw new GitOpsError(`release record: expected ${path.slice(0, -1).join('.')} to be a mapping`);
  }
  document.setIn(path, value);
}
