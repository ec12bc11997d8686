import { isMap, isScalar, parseDocument, type Document } from 'yaml';
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
  ].join('\n');

/**
 * Writes a release into a record and returns the new text; `undefined` creates the record.
 * Only bot-owned fields change: existing scalars are edited in place so their comments and
 * the layout around them survive. A target not in `update.targets` is left as it is, which is
 * how a rollout wave updates some sites and not others.
 */
export function writeReleaseRecord(current: string | undefined, update: ReleaseUpdate): string {
  const document = current === undefined ? newRecord(update.model) : parseDocument(current);
  if (document.errors.length > 0) throw new GitOpsError(`release record of ${update.model}: invalid YAML: ${document.errors[0]?.message}`);
  set(document, ['version'], update.version);
  set(document, ['artifact', 'reference'], update.reference);
  set(document, ['artifact', 'digest'], update.digest);
  for (const target of update.targets) {
    set(document, ['targets', target.name, 'placement'], target.choice);
    set(document, ['targets', target.name, 'version'], update.version);
    set(document, ['targets', target.name, 'digest'], update.digest);
    if (target.offloadTo) set(document, ['targets', target.name, 'offloadTo'], target.offloadTo);
    else if (document.hasIn(['targets', target.name, 'offloadTo'])) document.deleteIn(['targets', target.name, 'offloadTo']);
  }
  const text = document.toString({ lineWidth: 0 });
  return current !== undefined && text === current ? current : text;
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
