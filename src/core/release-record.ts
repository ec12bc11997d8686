import semver from 'semver';
import { stringify } from 'yaml';
import { z } from 'zod';
import { GitOpsError } from './errors.ts';
import { checkWith } from './parse-json.ts';
import { dnsLabel } from './formats.ts';
import { digestString, pinnedReference, semverString } from './formats.ts';
import { applyOwnedEdits, parseYaml, withHeader, type HandedYaml, type OwnedEdit } from './yaml-edit.ts';

/** Path of a model's release record inside the GitOps repo. */
export const releaseRecordPath = (directory: string, model: string) =>
  `${directory.replace(/\/+$/, '')}/${model}/release.yaml`;

// The record lives in the GitOps repo, which others can write: versions, references and names
// are held to their grammar before they reach an overlay, a URL or a comment.
const digest = digestString;
const version = semverString;
const placed = z.enum(['edge', 'offload', 'adaptive', 'cloud']);

const targetSchema = z
  .object({
    placement: placed,
    version,
    digest,
    offloadTo: dnsLabel.optional(),
    /** The container image the target deploys instead of pulling the artifact (a modelcar, a serving image), pinned by digest. */
    package: pinnedReference.optional(),
    /** What the target ran before the bot last changed its version: where a rollback goes. */
    previous: z
      .object({
        version,
        digest,
        placement: placed,
        offloadTo: dnsLabel.optional(),
        package: pinnedReference.optional(),
      })
      .optional(),
    /** A person's placement pin: every release keeps this placement. */
    pin: z.enum(['edge', 'offload', 'adaptive']).optional(),
    /** A person's hold: the bot leaves this target as it is, with the reason. */
    hold: z.string().optional(),
  })
  .loose();

const historySchema = z
  .object({
    metric: z.string().regex(/^[\w.:/-]{1,100}$/, 'a metric name'),
    value: z.number().finite(),
    released: z.string().max(40),
  })
  .loose();

/** Releases the record's history keeps. */
export const HISTORY_LENGTH = 10;

export const ROLLOUT_STATUSES = ['rolling-out', 'done', 'rolled-back', 'halted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

const recordSchema = z.object({
  model: dnsLabel,
  version,
  artifact: z.object({ reference: pinnedReference, digest }),
  rollout: z
    .object({
      status: z.enum(ROLLOUT_STATUSES),
      /** When each wave got the release, by wave name (ISO 8601). */
      waves: z.record(z.string(), z.string()).default({}),
      reason: z.string().optional(),
    })
    .optional(),
  targets: z.record(dnsLabel, targetSchema).default({}),
  /** The primary metric of the last releases, by version: the report's trend. */
  history: z.record(version, historySchema).default({}),
});

export type ReleaseRecord = z.infer<typeof recordSchema>;
export type RecordTarget = z.infer<typeof targetSchema>;

/** What a target is set to run. */
export interface TargetWrite {
  name: string;
  placement: RecordTarget['placement'];
  version: string;
  digest: string;
  offloadTo?: string;
  /** The container image deployed instead of the artifact, pinned by digest. */
  package?: string;
}

/** The changes one commit makes to a record; whatever is absent stays as it is. */
export interface RecordUpdate {
  model: string;
  /** The release being rolled out (the record's version and artifact), with its primary metric for the history. */
  release?: { version: string; reference: string; digest: string; primary?: { metric: string; value: number } };
  targets?: TargetWrite[];
  rollout?: { status: RolloutStatus; waves?: Record<string, string>; reason?: string };
  /** A person's pins and holds, from a command; null removes one. */
  marks?: { name: string; pin?: 'edge' | 'offload' | 'adaptive' | null; hold?: string | null }[];
}

/** A record's text with its YAML document and its value: parsed once, then read and edited from here. */
export interface ParsedRecord {
  text: string;
  record: ReleaseRecord;
  /** The parsed text, for writeReleaseRecord to hand to applyOwnedEdits (which lets go of it): a record is written once. */
  handed: HandedYaml;
}

/** Reads a record's text into its document and value; `file` names it in errors. */
export function readReleaseRecord(text: string, file: string): ParsedRecord {
  const document = parseYaml(text);
  if (document.errors.length > 0)
    throw new GitOpsError(`${file}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  const data: unknown = document.toJS();
  const record = checkWith(
    recordSchema,
    data,
    (issues) => new GitOpsError(`${file}: not an edgeship release record: ${issues[0]}`),
  );
  return { text, record, handed: { document, data } };
}

/** Reads the deployed release from a record's text; `file` names it in errors. */
export function parseReleaseRecord(text: string, file: string): ReleaseRecord {
  return readReleaseRecord(text, file).record;
}

/** The artifact reference a target runs: the record's repository at the target's digest. */
export const targetReference = (record: Pick<ReleaseRecord, 'artifact'>, targetDigest: string) =>
  `${record.artifact.reference.replace(/@sha256:[a-f0-9]{64}$/, '')}@${targetDigest}`;

const HEADER = (model: string) => [
  `Release record of ${model}, written by edgeship.`,
  'edgeship owns version, artifact, rollout, history and targets.<name>.{placement,version,digest,offloadTo,package,previous};',
  'targets.<name>.pin (edge|offload|adaptive) and targets.<name>.hold (a reason) are yours: edgeship respects them;',
  'everything else here, comments included, is yours and is kept as it is.',
];

/**
 * Writes an update into a record (its text, or the text as readReleaseRecord parsed it) and
 * returns the new text; `undefined` creates the record.
 * Only bot-owned fields change (see applyOwnedEdits: in place when they exist, so every other
 * byte stays). A target whose version changes keeps what it ran as `previous`, the rollback
 * target. Targets not in the update are left as they are, which is how a wave updates some
 * sites and not others.
 */
export function writeReleaseRecord(
  current: string | ParsedRecord | undefined,
  update: RecordUpdate,
  file = `release record of ${update.model}`,
): string {
  if (current === undefined) return newRecord(update, file);
  const { text, record, handed } = typeof current === 'string' ? readReleaseRecord(current, file) : current;
  const edits: OwnedEdit[] = [];
  if (update.release) {
    edits.push(
      [['version'], update.release.version],
      [['artifact', 'reference'], update.release.reference],
      [['artifact', 'digest'], update.release.digest],
    );
    edits.push(...historyEdits(record, update.release));
  }
  if (update.rollout) {
    edits.push([['rollout', 'status'], update.rollout.status], [['rollout', 'reason'], update.rollout.reason]);
    const waves = update.rollout.waves ?? {};
    // A new release starts a new rollout: the waves of the last one go.
    const restarts = update.release !== undefined && update.release.version !== record.version;
    for (const wave of Object.keys(record.rollout?.waves ?? {}))
      if (restarts && !(wave in waves)) edits.push([['rollout', 'waves', wave], undefined]);
    for (const [wave, at] of Object.entries(waves)) edits.push([['rollout', 'waves', wave], at]);
  }
  for (const target of update.targets ?? []) {
    const now = record.targets[target.name];
    const path = (...keys: string[]) => ['targets', target.name, ...keys];
    if (now && now.version !== target.version) {
      edits.push(
        [path('previous', 'version'), now.version],
        [path('previous', 'digest'), now.digest],
        [path('previous', 'placement'), now.placement],
        [path('previous', 'offloadTo'), now.offloadTo],
        [path('previous', 'package'), now.package],
      );
    }
    edits.push(
      [path('placement'), target.placement],
      [path('version'), target.version],
      [path('digest'), target.digest],
      [path('offloadTo'), target.offloadTo],
      [path('package'), target.package],
    );
  }
  for (const mark of update.marks ?? []) {
    if (mark.pin !== undefined) edits.push([['targets', mark.name, 'pin'], mark.pin ?? undefined]);
    if (mark.hold !== undefined) edits.push([['targets', mark.name, 'hold'], mark.hold ?? undefined]);
  }
  return applyOwnedEdits(text, edits, file, handed);
}

/**
 * The artifact and targets a record has once the update is written, computed without writing
 * and parsing it again (a fleet's record is large): what writeReleaseRecord's edits mean for them.
 */
export function recordAfter(
  record: ReleaseRecord | undefined,
  update: RecordUpdate,
): Pick<ReleaseRecord, 'artifact' | 'targets'> {
  const artifact = update.release
    ? { reference: update.release.reference, digest: update.release.digest }
    : record?.artifact;
  if (!artifact)
    throw new GitOpsError(`the release record of ${update.model} does not exist yet; only a release can create it`);
  const targets: ReleaseRecord['targets'] = { ...record?.targets };
  for (const write of update.targets ?? []) {
    const now = targets[write.name];
    // A person's keys stay; edgeship's are written anew, offloadTo and package only when the write has them.
    const { previous, pin, hold, ...rest }: Partial<RecordTarget> = now ?? {};
    delete rest.offloadTo;
    delete rest.package;
    const before =
      now && now.version !== write.version
        ? {
            version: now.version,
            digest: now.digest,
            placement: now.placement,
            ...(now.offloadTo && { offloadTo: now.offloadTo }),
            ...(now.package && { package: now.package }),
          }
        : previous;
    targets[write.name] = {
      ...rest,
      placement: write.placement,
      version: write.version,
      digest: write.digest,
      ...(write.offloadTo && { offloadTo: write.offloadTo }),
      ...(write.package && { package: write.package }),
      ...(before && { previous: before }),
      ...(pin && { pin }),
      ...(hold !== undefined && { hold }),
    };
  }
  for (const mark of update.marks ?? []) {
    const entry = targets[mark.name];
    if (!entry) continue;
    const { pin, hold, ...rest } = entry;
    const nextPin = mark.pin === undefined ? pin : (mark.pin ?? undefined);
    const nextHold = mark.hold === undefined ? hold : (mark.hold ?? undefined);
    targets[mark.name] = {
      ...rest,
      ...(nextPin && { pin: nextPin }),
      ...(nextHold !== undefined && { hold: nextHold }),
    };
  }
  return { artifact, targets };
}

/** The release's primary metric into the history, which keeps the last HISTORY_LENGTH releases. */
function historyEdits(record: ReleaseRecord, release: NonNullable<RecordUpdate['release']>): OwnedEdit[] {
  const { primary } = release;
  if (!primary || record.history[release.version]) return [];
  const kept = Object.keys(record.history)
    .sort(semver.compare)
    .slice(-(HISTORY_LENGTH - 1));
  const dropped = Object.keys(record.history).filter((entry) => !kept.includes(entry));
  const path = (...keys: string[]) => ['history', release.version, ...keys];
  return [
    ...dropped.map((entry): OwnedEdit => [['history', entry], undefined]),
    [path('metric'), primary.metric],
    [path('value'), primary.value],
    [path('released'), new Date().toISOString()],
  ];
}

/** The history as a list, oldest first: the entries of one metric. */
export function historyOf(record: ReleaseRecord, metric: string): { version: string; value: number }[] {
  return Object.entries(record.history)
    .filter(([, entry]) => entry.metric === metric)
    .sort(([a], [b]) => semver.compare(a, b))
    .map(([version, entry]) => ({ version, value: entry.value }));
}

/** A new record, written whole. */
function newRecord(update: RecordUpdate, file: string): string {
  if (!update.release) throw new GitOpsError(`${file} does not exist yet; only a release can create it`);
  const targets = Object.fromEntries(
    (update.targets ?? []).map((target) => [
      target.name,
      {
        placement: target.placement,
        version: target.version,
        digest: target.digest,
        ...(target.offloadTo && { offloadTo: target.offloadTo }),
        ...(target.package && { package: target.package }),
      },
    ]),
  );
  const record = {
    apiVersion: 'edgeship.io/v1alpha1',
    kind: 'ModelRelease',
    model: update.model,
    version: update.release.version,
    artifact: { reference: update.release.reference, digest: update.release.digest },
    ...(update.rollout && {
      rollout: {
        status: update.rollout.status,
        waves: update.rollout.waves ?? {},
        ...(update.rollout.reason && { reason: update.rollout.reason }),
      },
    }),
    ...(Object.keys(targets).length > 0 && { targets }),
    ...(update.release.primary && {
      history: { [update.release.version]: { ...update.release.primary, released: new Date().toISOString() } },
    }),
  };
  return withHeader(stringify(record, { lineWidth: 0 }), HEADER(update.model));
}
