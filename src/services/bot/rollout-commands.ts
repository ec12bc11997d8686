import type { Command } from '../../core/commands.ts';
import { targetsInWords } from '../../core/fleet-summary.ts';
import { GitOpsError } from '../../core/errors.ts';
import { parseReleaseRecord, releaseRecordPath } from '../../core/release-record.ts';
import type { RepoRef } from '../../ports.ts';
import { pinPlacement, rollBack } from '../rollback.ts';
import type { RolloutResult } from '../rollout.ts';
import { commitUrl, readConfigAt } from './model-repo.ts';
import {
  loadMergedRelease,
  newestMergedRelease,
  reconcileRelease,
  type MergedPull,
  type ReleaseRolloutDeps,
} from './release-rollout.ts';

export interface RolloutCommandDeps extends ReleaseRolloutDeps {
  /** Told about every rollout step a command makes, so the rollout tick follows it. */
  onRollout?: (pull: MergedPull, result: RolloutResult | 'not-a-release' | 'refused') => void;
}

type RolloutCommand = Extract<Command, { name: 'promote' | 'rollback' | 'pin' | 'unpin' }>;

/**
 * Runs a rollout command on the model's current release (its newest merged release PR) and
 * returns the answer for the comment:
 * - promote: the next wave now, without waiting for health and soak;
 * - rollback: every target at the release back to what it ran before, and no further waves;
 *   rollback <target>: that one back and held, the others go on;
 * - pin / unpin: a person's placement pin in the release record, applied at once.
 */
export async function runRolloutCommand(
  deps: RolloutCommandDeps,
  repo: RepoRef,
  defaultBranch: string,
  asked: string,
  command: RolloutCommand,
): Promise<string> {
  const { scm } = deps;
  const head = await scm.branchHead(repo, defaultBranch);
  const model = head ? await readConfigAt(scm, repo, head) : undefined;
  if (!model) return `There is no .github/edgeship.yml on \`${defaultBranch}\`, so there is no release to act on.`;
  const merged = await newestMergedRelease(scm, repo, model.model, defaultBranch);
  if (!merged) return `${model.model} has no merged release yet.`;
  const { config, report, gitops, gitopsRef } = await loadMergedRelease(deps, repo, merged);
  const version = report.version.version;
  const link = (sha: string | undefined) =>
    sha ? commitUrl(gitopsRef, sha) : 'no commit: the GitOps repo already says so';
  const reconcile = async (promote = false) => {
    const result = await reconcileRelease(deps, repo, merged, { promote });
    deps.onRollout?.(merged, result);
    return result;
  };
  try {
    switch (command.name) {
      case 'promote': {
        const result = await reconcile(true);
        if (typeof result !== 'object') return 'Nothing to promote.';
        const { action } = result;
        if (action.kind === 'apply-wave')
          return `Sent ${config.model} ${version} to wave **${action.wave}** (${targetsInWords(action.targets)}) in ${link(result.commit?.sha)}, ${asked}.`;
        if (action.kind === 'finished' || action.kind === 'superseded')
          return `Nothing to promote: the rollout of ${config.model} ${version} has ${action.kind === 'finished' ? `ended (${action.status})` : `been superseded by ${action.by}`}.`;
        return `Nothing to promote: every wave of ${config.model} ${version} has the release (${action.kind === 'wait' ? action.reason : action.kind}).`;
      }
      case 'rollback': {
        const path = releaseRecordPath(config.gitops.path, config.model);
        const text = await gitops.read(path);
        const record = text === undefined ? undefined : parseReleaseRecord(text, path);
        if (!record || record.version !== version)
          return `Nothing to roll back: the GitOps repo has ${record ? `${config.model} ${record.version}` : `no release of ${config.model}`}, not ${version}.`;
        const atRelease = Object.entries(record.targets)
          .filter(([, entry]) => entry.version === version && entry.previous)
          .map(([name]) => name);
        if (command.target && !atRelease.includes(command.target)) {
          return `Nothing to roll back at ${command.target}: ${record.targets[command.target] ? `it runs ${record.targets[command.target]?.version} and nothing earlier is recorded for it` : 'it is not a target of this release'} (targets at ${version}: ${targetsInWords(atRelease) || 'none'}).`;
        }
        const targets = command.target ? [command.target] : atRelease;
        if (targets.length === 0)
          return `Nothing to roll back: no target runs ${version} with an earlier release recorded.`;
        const reason = `${asked}`;
        const commit = await rollBack(gitops, config, {
          version,
          targets,
          reason,
          message: `rollback(${config.model}): ${version} at ${targetsInWords(targets)}\n\n${reason}`,
          ...(command.target ? { hold: `rolled back ${reason}` } : { status: 'rolled-back' as const }),
        });
        await reconcile();
        const held = command.target
          ? ` It stays there (held) while the other targets go on; remove \`hold\` from its entry in ${path} to release it.`
          : ' No further waves go out.';
        return `Rolled ${targetsInWords(targets)} back from ${version} in ${link(commit?.sha)}.${held}`;
      }
      case 'pin':
      case 'unpin': {
        const pin = command.name === 'pin' ? command.placement : null;
        const commit = await pinPlacement(
          gitops,
          config,
          command.target,
          pin,
          `${pin ? `pin(${config.model}): ${command.target} ${pin}` : `unpin(${config.model}): ${command.target}`}\n\n${asked}`,
        );
        return pin
          ? `Pinned ${command.target} to **${pin}** in ${link(commit?.sha)}: every release keeps it there until \`/edgeship unpin ${command.target}\`.`
          : `Unpinned ${command.target} in ${link(commit?.sha)}: the next release places it again.`;
      }
    }
  } catch (error) {
    if (error instanceof GitOpsError) return `Not done: ${error.message}.`;
    throw error;
  }
}
