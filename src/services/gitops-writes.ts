import semver from 'semver';
import { firstCloudTarget, targetNamed, wavesOf, type EdgeshipConfig } from '../core/config.ts';
import { siteAnalysisLiteral } from '../core/analysis.ts';
import {
  overlayPath,
  resourcesPatch,
  resourcesPatchPath,
  siteKustomizationPath,
  writeOverlay,
  writeSiteKustomization,
  type OverlaySpec,
} from '../core/overlays.ts';
import {
  readReleaseRecord,
  recordAfter,
  releaseRecordPath,
  writeReleaseRecord,
  type ParsedRecord,
  type RecordUpdate,
  type ReleaseRecord,
  type TargetWrite,
} from '../core/release-record.ts';
import type { FileWrite } from '../ports.ts';

type Read = (path: string) => Promise<string | undefined>;

/** A target set to run an artifact, with the reference its overlay pins. */
export interface Placement {
  write: TargetWrite;
  reference: string;
}

/** The record of the config's model as it is, parsed; `parsed` and `record` are absent before the first release. */
export async function readRecord(
  config: EdgeshipConfig,
  read: Read,
): Promise<{ path: string; text?: string; record?: ReleaseRecord; parsed?: ParsedRecord }> {
  const path = releaseRecordPath(config.gitops.path, config.model);
  const text = await read(path);
  if (text === undefined) return { path };
  const parsed = readReleaseRecord(text, path);
  return { path, text, record: parsed.record, parsed };
}

/** The config's serving.batching as an overlay says it: only when it is off. */
const batchingOf = (config: EdgeshipConfig): Pick<OverlaySpec, 'batching'> =>
  config.serving.batching ? {} : { batching: false };

/** The cloud endpoint an offloaded target forwards to. */
export function offloadTargetOf(config: EdgeshipConfig, target: string, chosen?: string): string | undefined {
  return chosen ?? targetNamed(config, target)?.offloadTo ?? firstCloudTarget(config)?.name;
}

/**
 * The files one commit writes: the record with the update, and per placed target its overlay
 * (its base is the placement), the resources patch of an edge site and the model's entry in the
 * site's kustomization. Every file is read up front and at once: a large fleet has thousands.
 */
export async function recordAndOverlays(
  config: EdgeshipConfig,
  read: Read,
  current: { path: string; parsed?: ParsedRecord },
  update: RecordUpdate,
  placements: Placement[],
): Promise<FileWrite[]> {
  const byName = new Map(config.targets.map((target) => [target.name, target]));
  const analysis = config.rollout?.analysis;
  const soakOf = analysis
    ? new Map(wavesOf(config).flatMap((wave) => wave.targets.map((target) => [target, wave.soakMinutes] as const)))
    : undefined;
  const specs = placements.flatMap(({ write, reference }) => {
    const target = byName.get(write.name);
    if (!target) return [];
    const offloadUrl = write.offloadTo ? byName.get(write.offloadTo)?.endpoint : undefined;
    const spec: OverlaySpec = {
      model: config.model,
      target,
      choice: write.placement,
      reference,
      version: write.version,
      ...(offloadUrl && { offloadUrl }),
      ...(write.package && { package: write.package }),
      ...batchingOf(config),
      ...(analysis && {
        analysis: siteAnalysisLiteral(analysis, target.latencyBudgetMs, soakOf?.get(target.name) ?? 0),
      }),
    };
    return [spec];
  });
  const recordUpdate = { ...update, targets: placements.map((placement) => placement.write) };
  const record = writeReleaseRecord(current.parsed, recordUpdate, current.path);
  retainOffloadedVersions(config, recordAfter(current.parsed?.record, recordUpdate), specs);
  const entries = specs.map((spec) => ({
    spec,
    overlay: overlayPath(spec.target.name, config.model),
    site: siteKustomizationPath(spec.target.name),
  }));
  const paths = entries.flatMap((entry) => [entry.overlay, entry.site]);
  // The resources patches are only written here, but read with the rest: the apply compares
  // every write with what is there, and finds them read already.
  const patches = entries.flatMap((entry) =>
    entry.spec.target.kind === 'edge' ? [resourcesPatchPath(entry.spec.target.name, config.model)] : [],
  );
  const [files] = await Promise.all([
    Promise.all(paths.map(async (file) => [file, await read(file)] as const)).then((read) => new Map(read)),
    Promise.all(patches.map(read)),
  ]);
  const writes: FileWrite[] = [{ path: current.path, content: record }];
  for (const { spec, overlay, site } of entries) {
    writes.push(
      { path: overlay, content: writeOverlay(files.get(overlay), spec) },
      { path: site, content: writeSiteKustomization(files.get(site), spec.target.name, config.model) },
    );
    if (spec.target.kind === 'edge')
      writes.push({ path: resourcesPatchPath(spec.target.name, config.model), content: resourcesPatch(spec) });
  }
  return writes;
}

/**
 * Offloading never crosses contracts: a site forwards to the version it was released with, so
 * each cloud target also serves every version an offloading or adaptive site still runs (a canary wave's
 * new one before the cloud's own wave, an old one while a site is held), until none does. Its
 * overlay is written in every commit that changes that list, whatever wave the cloud is in; a
 * held cloud target is left as it is.
 */
function retainOffloadedVersions(
  config: EdgeshipConfig,
  record: Pick<ReleaseRecord, 'artifact' | 'targets'>,
  specs: OverlaySpec[],
): void {
  const repository = record.artifact.reference.slice(0, record.artifact.reference.lastIndexOf('@'));
  for (const cloud of config.targets.filter((target) => target.kind === 'cloud')) {
    const own = record.targets[cloud.name];
    if (!own || own.placement !== 'cloud' || own.hold) continue;
    const retained = new Map<string, string>();
    for (const entry of Object.values(record.targets)) {
      if (
        (entry.placement === 'offload' || entry.placement === 'adaptive') &&
        entry.offloadTo === cloud.name &&
        entry.version !== own.version
      )
        retained.set(entry.version, `${repository}@${entry.digest}`);
    }
    let spec = specs.find((candidate) => candidate.target.name === cloud.name);
    if (!spec) {
      spec = {
        model: config.model,
        target: cloud,
        choice: 'cloud',
        reference: `${repository}@${own.digest}`,
        version: own.version,
        ...batchingOf(config),
      };
      specs.push(spec);
    }
    spec.retained = [...retained]
      .sort(([a], [b]) => semver.compare(a, b))
      .map(([version, reference]) => ({ version, reference }));
  }
}
