import { CONFIG_PATH, wavesOf } from '../../core/config.ts';
import { EdgeshipError } from '../../core/errors.ts';
import { GATES_CHECK, parseReleaseBranch, RELEASE_PROPOSAL_FILE, releaseBranch } from '../../core/release-branch.ts';
import { refuseMerge } from '../../core/release-integrity.ts';
import { PolicyError, signingTrustFor, unreviewedDeployAllowed, type OperatorPolicy } from '../../core/policy.ts';
import type { SignatureChecker } from '../../core/release-signature.ts';
import { GitOpsError } from '../../core/errors.ts';
import { parseEvaluationReport, type EvaluationReport } from '../../core/report-schema.ts';
import type { EdgeshipConfig } from '../../core/config.ts';
import type { FleetStatus, Logger, ModelRegistry, RepoRef, Scm } from '../../ports.ts';
import type { VerdictBook } from '../../core/analysis.ts';
import { summarizeFleet } from '../../core/fleet-summary.ts';
import { DASHBOARD_LABEL } from '../../core/dashboard.ts';
import { parseReleaseRecord, releaseRecordPath } from '../../core/release-record.ts';
import { messageOf } from '../../core/errors.ts';
import { inert } from '../../core/markdown.ts';
import { mirrorRelease } from '../registry-mirror.ts';
import { advanceRollout, type RolloutResult } from '../rollout.ts';
import { actOnDashboard, openDashboard, writeDashboard } from './fleet-dashboard.ts';
import {
  ensureEndComment,
  promoteAnswer,
  waveDeployments,
  waveEnvironment,
  type RolloutNews,
} from './rollout-comments.ts';
import {
  commitUrl,
  configOf,
  fileUrl,
  openGitops,
  readConfigAt,
  trackedBranch,
  type GitopsAccess,
} from './model-repo.ts';
import { repoName } from '../../core/formats.ts';

export interface MergedPull {
  number: number;
  headRef: string;
  /** The head commit the PR merged and the branch it merged into. */
  headSha: string;
  base: string;
  mergeSha: string;
}

export interface ReleaseRolloutDeps {
  scm: Scm;
  log: Logger;
  /** Argo CD for a model's fleet, when the app can read it. */
  fleetFor?: (config: EdgeshipConfig) => FleetStatus | undefined;
  /** The clock soak times are measured on. */
  now?: () => number;
  /** The model registry a config mirrors releases to (registry.mlflow). */
  registryFor?: (config: EdgeshipConfig) => ModelRegistry | undefined;
  policy: OperatorPolicy;
  scmFor?: GitopsAccess['scmFor'];
  /** What the sites reported of a release's analysis, by repo (the app's VerdictBook). */
  verdicts?: Pick<VerdictBook, 'summary'>;
  /** Who signed an artifact, for the repos the policy's `signing` names: checked again before the first wave. */
  checkSignature?: SignatureChecker;
}

/**
 * The model's current release: the release proposal on the default branch (what the last merge
 * wrote) names its version and commit, which name its release branch; the PR of that branch is
 * the one to act on. A comment on an old release PR cannot make it the current one.
 */
export async function newestMergedRelease(
  scm: Scm,
  repo: RepoRef,
  model: string,
  defaultBranch: string,
): Promise<MergedPull | undefined> {
  const head = await scm.branchHead(repo, defaultBranch);
  const text = head ? await scm.readFile(repo, RELEASE_PROPOSAL_FILE, head) : undefined;
  if (!head || text === undefined) return undefined;
  const record = parseEvaluationReport(text, `${RELEASE_PROPOSAL_FILE} on ${defaultBranch}`);
  if (record.model !== model || !record.provenance.commit) return undefined;
  const branch = releaseBranch(model, record.version.version, record.provenance.commit);
  const pull = await scm.pullRequestOf(repo, branch);
  return pull?.merged && pull.mergeSha
    ? { number: pull.number, headRef: pull.head, headSha: pull.headSha, base: pull.base, mergeSha: pull.mergeSha }
    : undefined;
}

/**
 * A merged release as the rollout needs it: its config and report at the merge commit, and its
 * GitOps repo. Only the app's own release deploys (core/release-integrity.ts): anything else
 * throws a ReleaseRefused that names the reason.
 */
export async function loadMergedRelease(
  deps: GitopsAccess & Pick<ReleaseRolloutDeps, 'checkSignature'>,
  repo: RepoRef,
  pull: MergedPull,
  options: { recheckSignature?: boolean } = {},
) {
  const { scm } = deps;
  // The merge's config and proposal, the gate verdict on the head it merged, and the fleet dashboards, in one read.
  const {
    files,
    check: gates,
    issues,
  } = await scm.ask(repo, {
    files: { ref: pull.mergeSha, paths: [CONFIG_PATH, RELEASE_PROPOSAL_FILE] },
    check: { sha: pull.headSha, name: GATES_CHECK },
    issues: DASHBOARD_LABEL,
  });
  const config = configOf(repo, pull.mergeSha, files.get(CONFIG_PATH));
  const proposalText = files.get(RELEASE_PROPOSAL_FILE);
  if (!config || proposalText === undefined)
    throw new EdgeshipError(
      `#${pull.number} merged ${pull.headRef}, but ${pull.mergeSha.slice(0, 7)} has no ${config ? RELEASE_PROPOSAL_FILE : CONFIG_PATH}`,
    );
  const refused = refuseMerge({ headSha: pull.headSha, gatesExternalId: gates?.externalId, proposalText });
  if (refused) throw new ReleaseRefused(refused, config);
  const report = parseEvaluationReport(proposalText, `${RELEASE_PROPOSAL_FILE} at ${pull.mergeSha.slice(0, 7)}`);
  // Merged without its gates (no required check on the branch): refused with them, nothing written.
  const failed = report.gates.filter((gate) => !gate.passed);
  if (!report.passed)
    throw new ReleaseRefused(
      `its gates failed: ${failed.map((gate) => `**${gate.title}**: ${gate.reason}`).join('; ')}`,
      config,
      'A release deploys only when its gates pass: fix what they name and release again, and make edgeship/gates a required check of the branch so such a PR cannot merge.',
    );
  if (report.provenance.branch !== undefined && report.provenance.branch !== pull.base) {
    throw new ReleaseRefused(
      `the PR merged into \`${pull.base}\`, but the release was trained from \`${report.provenance.branch}\``,
      config,
    );
  }
  const because = await deployableInto(deps, repo, pull.base, config);
  if (options.recheckSignature) await checkSignedAgain(deps, repo, pull, report, config);
  try {
    return { config, report, because, issues, ...(await openGitops(deps, config)) };
  } catch (error) {
    if (error instanceof PolicyError || error instanceof GitOpsError) throw new ReleaseRefused(error.message, config);
    throw error;
  }
}

/** The rollout step of the model's current release (its newest merged release PR), when the default branch has one. */
export async function reconcileCurrentRelease(deps: ReleaseRolloutDeps, repo: RepoRef, defaultBranch: string) {
  const head = await deps.scm.branchHead(repo, defaultBranch);
  const config = head ? await readConfigAt(deps.scm, repo, head) : undefined;
  const pull = config && (await newestMergedRelease(deps.scm, repo, config.model, defaultBranch));
  return pull ? { pull, result: await reconcileRelease(deps, repo, pull) } : undefined;
}

/**
 * Why a merge into `base` may deploy: the default branch's config tracks `base`, and a ruleset
 * requires approving reviews before a merge into it, or the operator lets this repo deploy
 * without one (policy `unreviewedDeploys`). Anything else is refused, with the fix.
 */
async function deployableInto(
  deps: GitopsAccess,
  repo: RepoRef,
  base: string,
  config: EdgeshipConfig,
): Promise<string> {
  const name = repoName(repo);
  if (!(await trackedBranch(deps.scm, repo, base, config)))
    throw new ReleaseRefused(
      `\`${base}\` is not a branch that .github/edgeship.yml on the default branch tracks (train.branches)`,
      config,
    );
  const rule = await deps.scm.reviewRule(repo, base);
  if (rule)
    return `\`${base}\` requires ${rule.reviews} approving review${rule.reviews === 1 ? '' : 's'} before a merge (a ruleset of ${rule.source})`;
  if (unreviewedDeployAllowed(deps.policy, name))
    return `the operator's policy lets ${name} deploy from \`${base}\` without a required review (unreviewedDeploys)`;
  throw new ReleaseRefused(
    `\`${base}\` requires no approving review before a merge, so no one but its writer need have read this release: add a ruleset that requires a pull request review on \`${base}\`, or let ${name} deploy without one in the operator's policy (unreviewedDeploys)`,
    config,
  );
}

/**
 * Before a release's first wave, for a repo the policy's `signing` names: its artifact is checked
 * again as the release PR checked it, so a signer the policy stopped trusting since (a key
 * dropped, an identity removed) deploys nothing. A release with deployments already is under
 * way, and is left to its rollout.
 */
async function checkSignedAgain(
  deps: GitopsAccess & Pick<ReleaseRolloutDeps, 'checkSignature'>,
  repo: RepoRef,
  pull: MergedPull,
  report: EvaluationReport,
  config: EdgeshipConfig,
): Promise<void> {
  const trust = signingTrustFor(deps.policy, repoName(repo));
  if (!trust || !report.artifact) return;
  if ((await deps.scm.deploymentEnvironments(repo, pull.mergeSha)).length > 0) return;
  if (!deps.checkSignature)
    throw new EdgeshipError(
      `the operator policy requires ${repoName(repo)} to be signed, and this app cannot check signatures`,
    );
  const check = await deps.checkSignature(report.artifact, report.provenance.commit, trust).catch((error: unknown) => {
    if (error instanceof PolicyError) return { verified: false as const, reason: error.message };
    throw error;
  });
  if (!check.verified)
    throw new ReleaseRefused(
      `its signature no longer holds at merge: ${inert(check.reason, 1000)}`,
      config,
      'The operator policy no longer trusts who signed this release: publish it again signed by a signer the policy trusts, and release again.',
    );
}

/** A merged PR that is not a release the app evaluated: it deploys nothing. */
export class ReleaseRefused extends EdgeshipError {
  override readonly name = 'ReleaseRefused';
  constructor(
    readonly reason: string,
    readonly config: EdgeshipConfig,
    /** What to do instead; by default, how a release that deploys comes about. */
    readonly advice = 'Only a release PR that edgeship opened, unchanged, merged after review into the tracked branch it was trained from, deploys; push to a tracked branch to get one.',
  ) {
    super(`not deployed: ${reason}`);
  }
}

/**
 * Moves a merged release's rollout one step and mirrors it on GitHub:
 * 1. advance the rollout (core/rollout through services/rollout): send a wave, wait, roll back…;
 * 2. one deployment per wave (environment `<model>/<wave>`) whose status is the wave's state and
 *    whose description counts its targets by state: a status is written only when that state changes;
 * 3. the fleet dashboard issue (fleet-dashboard.ts): its ticked boxes act first (a promote in this
 *    step), and it is written when what it shows changed; it says why the release may deploy;
 * 4. a comment on the PR when the rollout ends: counts per wave and the exceptions by name (the
 *    first few of each; the release record has every site).
 * What it writes to GitHub grows with the waves, not with the sites. Idempotent: the merge,
 * resync, the rollout tick and `/edgeship promote` all call it, and each writes what the state
 * says, so a crash between a wave's commit and its deployment leaves nothing unsaid.
 */
export async function reconcileRelease(
  deps: ReleaseRolloutDeps,
  repo: RepoRef,
  pull: MergedPull,
  options: { promote?: boolean; recheckSignature?: boolean } = {},
): Promise<RolloutResult | 'not-a-release' | 'refused'> {
  const { scm } = deps;
  if (!parseReleaseBranch(pull.headRef)) return 'not-a-release';
  let loaded;
  try {
    loaded = await loadMergedRelease(deps, repo, pull, { recheckSignature: options.recheckSignature ?? false });
  } catch (error) {
    if (!(error instanceof ReleaseRefused)) throw error;
    await refuseDeployment(scm, repo, pull, error);
    deps.log.warn({ pull: pull.number, reason: error.reason }, 'Merged release refused');
    return 'refused';
  }
  const { config, report, gitopsRef, gitops, gitopsScm, because, issues } = loaded;
  const fleet = deps.fleetFor?.(config);
  const waves = wavesOf(config);
  const board = await openDashboard(scm, repo, config.model, issues);
  const acts = await actOnDashboard(gitops, config, report.version.version, waves, board);
  const result = await advanceRollout(
    {
      gitops,
      log: deps.log,
      ...(fleet && { fleet }),
      ...(deps.now && { now: deps.now }),
      ...(deps.verdicts && {
        verdicts: (model: string, version: string, targets: readonly string[]) =>
          deps.verdicts?.summary(repoName(repo), model, version, targets) ?? new Map(),
      }),
    },
    config,
    report,
    { promote: options.promote || acts.promote },
  );
  if (result.action.kind === 'superseded') return result;
  const { model } = report;
  const version = report.version.version;
  const sha = result.commit?.sha ?? (await gitopsScm.branchHead(gitopsRef, config.gitops.branch)) ?? '';
  const news: RolloutNews = {
    model,
    version,
    waves,
    summary: summarizeFleet({
      waves,
      statuses: result.statuses,
      placement: new Map(report.placement.map((decision) => [decision.target, decision.choice])),
      pinned: new Set(result.pinned),
    }),
    url: commitUrl(gitopsRef, sha),
    // On the branch, not at a commit: a link that moved with every GitOps commit would rewrite the dashboard each time.
    recordLink: `[the release record](${fileUrl(gitopsRef, config.gitops.branch, releaseRecordPath(config.gitops.path, model))})`,
  };
  await scm.ensureDeployments(repo, pull.mergeSha, waveDeployments(news, report.artifact?.digest));
  const { action } = result;
  if (action.kind === 'rollback' || action.kind === 'halt' || action.kind === 'done')
    await ensureEndComment(scm, repo, pull.number, news, action);
  if (acts.promote) acts.answers.push(promoteAnswer(acts.promotedBy, result));
  const dashboard = {
    model,
    version,
    status: result.status,
    pull: { number: pull.number },
    summary: news.summary,
    versions: result.versions,
    sentWaves: result.sent,
    holds: result.holds,
    recordLink: news.recordLink,
    because,
    ...(report.signature && { signature: report.signature }),
    watched: fleet !== undefined,
    ...(result.next && { nextWave: result.next }),
  };
  await writeDashboard(scm, repo, dashboard, board, acts.answers);
  // The registry only mirrors the GitOps repo: when it fails (or the policy refuses its URI), the
  // rollout goes on and the next reconcile tries again.
  let registry: ModelRegistry | undefined;
  let refused: unknown;
  try {
    registry = deps.registryFor?.(config);
  } catch (error) {
    refused = error;
  }
  if (registry || refused) {
    try {
      if (!registry) throw refused;
      const path = releaseRecordPath(config.gitops.path, config.model);
      const text = await gitops.read(path);
      const mirrored = await mirrorRelease(
        registry,
        config,
        report,
        result,
        text === undefined ? undefined : parseReleaseRecord(text, path),
      );
      if (mirrored.length > 0) deps.log.info({ model, version, mirrored }, 'Release mirrored to the model registry');
    } catch (error) {
      deps.log.warn({ model, version, err: error }, 'Model registry mirror failed');
      await scm.ensureComment(
        repo,
        pull.number,
        `<!-- edgeship:registry-failed:${model}:${version} -->`,
        `Could not mirror ${model} ${version} to the model registry (${inert(messageOf(error))}). The GitOps repo is the source of truth and the rollout goes on; edgeship tries again at the next reconcile.`,
      );
    }
  }
  deps.log.info({ model, version, step: action.kind, status: result.status }, 'Rollout reconciled');
  return result;
}

/** A refused merge: a PR comment that says why and a failed deployment per target of the config; no GitOps write. */
async function refuseDeployment(scm: Scm, repo: RepoRef, pull: MergedPull, refusal: ReleaseRefused): Promise<void> {
  const why = `edgeship did not deploy #${pull.number}: ${refusal.reason}. ${refusal.advice}`;
  await scm.ensureComment(repo, pull.number, `<!-- edgeship:refused:${pull.mergeSha} -->`, why);
  await scm.ensureDeployments(
    repo,
    pull.mergeSha,
    wavesOf(refusal.config).map((wave) => ({
      environment: waveEnvironment(refusal.config.model, wave.name),
      description: 'refused: not deployed',
      payload: {},
      status: { state: 'failure' as const, description: `Not deployed: ${refusal.reason}` },
    })),
  );
}
