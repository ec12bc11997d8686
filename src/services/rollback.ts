import { firstCloudTarget, targetNamed, type EdgeshipConfig } from '../core/config.ts';
import { GitOpsError } from '../core/errors.ts';
import { targetsInWords } from '../core/fleet-summary.ts';
import { targetReference, type RolloutStatus } from '../core/release-record.ts';
import type { GitOpsRepo } from '../ports.ts';
import { readRecord, recordAndOverlays, type Placement } from './gitops-writes.ts';

export interface RollbackRequest {
  /** The release being rolled back; nothing is written when the record has moved on. */
  version: string;
  /** Targets to send back to what they ran before. */
  targets: readonly string[];
  /** The rollout's status after; by default it stays as it is. */
  status?: RolloutStatus;
  reason: string;
  message: string;
  /** Marks the targets held, so the rollout goes on without them (a person's rollback of one target). */
  hold?: string;
}

/**
 * One commit that sends targets back to the artifact they ran before this release (their
 * `previous` in the record) and records the rollout's status and reason. Targets that ran
 * nothing before keep what they have.
 */
export async function rollBack(gitops: GitOpsRepo, config: EdgeshipConfig, request: RollbackRequest) {
  return gitops.apply(async (read) => {
    const current = await readRecord(config, read);
    const record = current.record;
    if (!record || record.version !== request.version) return [];
    const placements = request.targets.flatMap((name): Placement[] => {
      const previous = record.targets[name]?.previous;
      if (!previous || record.targets[name]?.version !== request.version) return [];
      const write = {
        name,
        placement: previous.placement,
        version: previous.version,
        digest: previous.digest,
        ...(previous.offloadTo && { offloadTo: previous.offloadTo }),
        ...(previous.package && { package: previous.package }),
      };
      return [{ write, reference: targetReference(record, previous.digest) }];
    });
    const marks = request.hold ? request.targets.map((name) => ({ name, hold: request.hold ?? null })) : [];
    const status = request.status ?? record.rollout?.status ?? 'done';
    const reason = request.status ? request.reason : record.rollout?.reason;
    return recordAndOverlays(
      config,
      read,
      current,
      {
        model: config.model,
        rollout: { status, waves: record.rollout?.waves ?? {}, ...(reason && { reason }) },
        marks,
      },
      placements,
    );
  }, request.message);
}

/** One commit that pins a target's placement (or removes the pin) and places it so now. */
export async function pinPlacement(
  gitops: GitOpsRepo,
  config: EdgeshipConfig,
  target: string,
  pin: 'edge' | 'offload' | 'adaptive' | null,
  message: string,
) {
  const configured = targetNamed(config, target);
  if (!configured)
    throw new GitOpsError(
      `there is no target "${target}" in .github/edgeship.yml (targets: ${targetsInWords(config.targets.map((candidate) => candidate.name))})`,
    );
  if (pin && configured.kind !== 'edge')
    throw new GitOpsError(`${target} is a cloud target; only edge sites can be pinned to edge, offload or adaptive`);
  const offloadTo = configured.offloadTo ?? firstCloudTarget(config)?.name;
  if ((pin === 'offload' || pin === 'adaptive') && !offloadTo)
    throw new GitOpsError(
      `${target} cannot ${pin === 'offload' ? 'offload' : 'be adaptive'}: .github/edgeship.yml has no cloud target`,
    );
  return gitops.apply(async (read) => {
    const current = await readRecord(config, read);
    const entry = current.record?.targets[target];
    if (!current.record || !entry)
      throw new GitOpsError(
        `${current.path} has no release of ${config.model} at ${target} yet; pin it after its first release`,
      );
    const placements: Placement[] = [];
    if (pin && entry.placement !== pin) {
      const write = {
        name: target,
        placement: pin,
        version: entry.version,
        digest: entry.digest,
        ...((pin === 'offload' || pin === 'adaptive') && offloadTo && { offloadTo }),
        ...(pin !== 'offload' && entry.package && { package: entry.package }),
      };
      placements.push({ write, reference: targetReference(current.record, entry.digest) });
    }
    return recordAndOverlays(
      config,
      read,
      current,
      { model: config.model, marks: [{ name: target, pin }] },
      placements,
    );
  }, message);
}

/** One commit that lifts a person's hold on a target: the rollout takes it again from the next step. */
export async function releaseHold(gitops: GitOpsRepo, config: EdgeshipConfig, target: string, message: string) {
  return gitops.apply(async (read) => {
    const current = await readRecord(config, read);
    if (current.record?.targets[target]?.hold === undefined) return [];
    return recordAndOverlays(config, read, current, { model: config.model, marks: [{ name: target, hold: null }] }, []);
  }, message);
}
