import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { GitOpsError } from './errors.ts';
import type { PlacementChoice } from './placement.ts';
import { applyOwnedEdits, withHeader, type OwnedEdit } from './yaml-edit.ts';

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

const HEADER = (model: string) => [
  `Release record of ${model}, written by edgeship.`,
  'edgeship owns version, artifact and targets.<name>.{placement,version,digest,offloadTo};',
  'everything else here, comments included, is yours and is kept as it is.',
];

/**
 * Writes a release into a record and returns the new text; `undefined` creates the record.
 * Only bot-owned fields change (see applyOwnedEdits: in place when they exist, so every other
 * byte stays). A target not in `update.targets` is left as it is, which is how a rollout wave
 * updates some sites and not others.
 */
export function writeReleaseRecord(current: string | undefined, update: ReleaseUpdate): string {
  if (current === undefined) return newRecord(update);
  const edits: OwnedEdit[] = [
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
  return applyOwnedEdits(current, edits, `release record of ${update.model}`);
}

/** A new record, written whole. */
function newRecord(update: ReleaseUpdate): string {
  const targets = Object.fromEntries(
    update.targets.map((target) => [target.name, { placement: target.choice, version: update.version, digest: update.digest, ...(target.offloadTo && { offloadTo: target.offloadTo }) }]),
  );
  const record = {
    apiVersion: 'edgeship.io/v1alpha1',
    kind: 'ModelRelease',
    model: update.model,
    version: update.version,
    artifact: { reference: update.reference, digest: update.digest },
    ...(update.targets.length > 0 && { targets }),
  };
  return withHeader(stringify(record, { lineWidth: 0 }), HEADER(update.model));
}
