import type { EdgeshipConfig } from '../../core/config.ts';
import { EdgeshipError, GitOpsError } from '../../core/errors.ts';
import { PolicyError, signingTrustFor, type OperatorPolicy } from '../../core/policy.ts';
import { repoName } from '../../core/formats.ts';
import { signatureGate, type SignatureChecker } from '../../core/release-signature.ts';
import { GATES_CHECK, RELEASE_PROPOSAL_FILE, releaseBranch, releaseBranchPrefix } from '../../core/release-branch.ts';
import { REPORT_ARTIFACT, TRAIN_CHECK } from '../../core/training-run.ts';
import { planRelease } from '../../core/release-plan.ts';
import type { EvaluationReport } from '../../core/report-schema.ts';
import { renderReport } from '../../core/report.ts';
import { proposalDigest } from '../../core/release-integrity.ts';
import { parseEvaluationReport } from '../../core/report-schema.ts';
import { ScmBranchRepo } from '../scm-branch-repo.ts';
import type {
  ArtifactStore,
  ClusterCapacity,
  Logger,
  PullRequestInfo,
  PullRequestSpec,
  RepoAnswers,
  RepoRef,
  Scm,
} from '../../ports.ts';
import { resolveBaseline } from '../baseline.ts';
import { openGitops, readConfigAt, trackedBranch, type GitopsAccess } from './model-repo.ts';

export interface CompletedRun {
  id: number;
  headSha: string;
  headBranch: string;
  /** Path of the workflow file, e.g. `.github/workflows/edgeship-train.yml`. */
  path: string;
  conclusion: string | null;
  url: string;
}

export interface ReleasePrDeps {
  scm: Scm;
  storeFor: (reference: string) => ArtifactStore;
  log: Logger;
  /** Live capacity of the edge clusters the app can read. */
  capacity?: ClusterCapacity;
  policy: OperatorPolicy;
  scmFor?: GitopsAccess['scmFor'];
  /** Who signed an artifact, for the repos the policy's `signing` names (adapters/signing/release-check.ts). */
  checkSignature?: SignatureChecker;
}

export type ReleasePrOutcome =
  | 'not-a-training-run'
  | 'run-failed'
  | 'superseded'
  | 'no-report'
  | 'unchanged'
  | { pullRequest: number; created: boolean; passed: boolean };

/**
 * Turns a finished training run into the release PR:
 * 1. ignore runs of other workflows and of branches the default branch's config does not track;
 *    fail `edgeship/train` with the log link when the run failed;
 * 2. ignore a run whose commit is no longer the head of its branch (the newer run wins);
 * 3. read the evaluation report the run uploaded and the deployed release from the GitOps repo;
 * 4. plan the release against that baseline;
 * 5. commit the release proposal to the release branch, ensure the PR, close older release PRs;
 * 6. report the gate verdict as `edgeship/gates` on the PR head, and finish `edgeship/train`.
 */
export async function ensureReleasePr(
  deps: ReleasePrDeps,
  repo: RepoRef,
  run: CompletedRun,
): Promise<ReleasePrOutcome> {
  const { scm } = deps;
  const config = await readConfigAt(scm, repo, run.headSha);
  if (
    !config ||
    !run.path.endsWith(`/${config.train.workflow}`) ||
    !(await trackedBranch(scm, repo, run.headBranch, config))
  )
    return 'not-a-training-run';
  const check = { name: TRAIN_CHECK, headSha: run.headSha, detailsUrl: run.url };
  if (run.conclusion !== 'success') {
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'Training failed',
      summary: `The training run ended as \`${run.conclusion ?? 'unknown'}\`. [Logs](${run.url})`,
    });
    return 'run-failed';
  }
  // What the release needs to know of the repo now, in one read: the branch head (has it moved
  // on?), the training check to finish, the release PRs a new one supersedes.
  const seen = await scm.ask(repo, {
    branch: run.headBranch,
    check: { sha: run.headSha, name: TRAIN_CHECK },
    openPulls: releaseBranchPrefix(config.model),
  });
  if (
    await supersede(
      scm,
      repo,
      { ...check, ...(seen.check && { id: seen.check.id }) },
      run.headBranch,
      seen.branchHead ?? null,
    )
  )
    return 'superseded';
  const evaluated = await readReport(scm, repo, run.id);
  if (!evaluated) {
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'No evaluation report',
      summary: `The run uploaded no \`${REPORT_ARTIFACT}\` artifact with report.json; add the edgeship report step to the workflow. [Logs](${run.url})`,
    });
    return 'no-report';
  }
  if (!evaluated.artifact)
    throw new EdgeshipError(
      `the report of run ${run.id} has no published artifact; the workflow must run the publish step before report`,
    );

  return releaseFromReport(deps, repo, {
    config,
    sha: run.headSha,
    branch: run.headBranch,
    url: run.url,
    evaluated,
    seen,
  });
}

async function readReport(scm: Scm, repo: RepoRef, runId: number): Promise<EvaluationReport | undefined> {
  const files = await scm.downloadArtifact(repo, runId, REPORT_ARTIFACT);
  const bytes = files?.['report.json'];
  return bytes ? parseEvaluationReport(Buffer.from(bytes).toString('utf8'), `report.json of run ${runId}`) : undefined;
}

/** A finished training run with its evaluation report, from any backend. */
export interface FinishedTraining {
  config: EdgeshipConfig;
  sha: string;
  branch: string;
  /** Link to the run, for the check runs. */
  url?: string;
  evaluated: EvaluationReport;
  /** What a read just before found: the training check (null: none) and the open release PRs. */
  seen?: Pick<RepoAnswers, 'check' | 'openPulls'>;
}

/**
 * Closes `edgeship/train` as superseded when the branch has moved on from the commit; the
 * newer commit's release replaces this one. True when it did.
 */
export async function supersede(
  scm: Scm,
  repo: RepoRef,
  check: { id?: number; name: string; headSha: string; detailsUrl?: string },
  branch: string,
  known?: string | null,
): Promise<boolean> {
  const head = known === undefined ? await scm.branchHead(repo, branch) : (known ?? undefined);
  if (head === check.headSha) return false;
  await scm.ensureCheckRun(repo, {
    ...check,
    status: 'completed',
    conclusion: 'neutral',
    title: 'Superseded',
    summary: `${branch} has moved on to ${head?.slice(0, 7) ?? 'nothing'}; the newer commit's release replaces this one.`,
  });
  return true;
}

/**
 * The release PR of a finished run: plans the release against the deployed one, commits the
 * proposal to the release branch, ensures the PR, closes older ones, and reports the gates.
 */
export async function releaseFromReport(
  deps: ReleasePrDeps,
  repo: RepoRef,
  run: FinishedTraining,
): Promise<'unchanged' | { pullRequest: number; created: boolean; passed: boolean }> {
  const { scm } = deps;
  const { config, evaluated } = run;
  const check = { name: TRAIN_CHECK, headSha: run.sha, ...(run.url && { detailsUrl: run.url }) };
  if (!evaluated.artifact)
    throw new EdgeshipError(
      `the report of ${run.url ?? run.sha} has no published artifact; the run must publish before it reports`,
    );
  let gitops;
  try {
    ({ gitops } = await openGitops(deps, config));
  } catch (error) {
    if (!(error instanceof PolicyError || error instanceof GitOpsError)) throw error;
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'No release: the GitOps repo is out of reach',
      summary: error.message,
    });
    throw error;
  }
  const baseline = await resolveBaseline({ gitops, storeFor: deps.storeFor }, config);
  const live = deps.capacity ? await deps.capacity.capacity(config.targets) : undefined;
  const report = planRelease({
    config,
    inspection: evaluated.candidate,
    metrics: Object.fromEntries(evaluated.metrics.map((metric) => [metric.name, metric.value])),
    golden: evaluated.golden,
    profiles: evaluated.profiles,
    provenance: { ...evaluated.provenance, commit: run.sha, branch: run.branch, ...(run.url && { runUrl: run.url }) },
    // A breaking change is approved per release on its PR (/edgeship allow-breaking), not by config.
    configMayAllowBreaking: false,
    ...(baseline && { baseline }),
    ...(live && { live }),
  });
  report.artifact = evaluated.artifact;
  if (report.version.bump === 'none') {
    // Retraining reproduced the deployed model byte for byte: no version, no branch, no PR.
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'neutral',
      title: `Nothing to release: the model is the deployed ${report.version.version}`,
      summary: `The trained model.onnx has the sha256 of the deployed ${report.version.version} (\`${report.candidate.sha256}\`), so no release PR was opened.`,
    });
    return 'unchanged';
  }
  await checkSigned(deps, repo, report, run.sha);

  const branch = releaseBranch(config.model, report.version.version, run.sha);
  const proposal = `${JSON.stringify(report, null, 2)}\n`;
  const title = `release(${config.model}): ${report.version.version}`;
  const spec = { head: branch, base: run.branch, title, body: renderReport(report) };
  // A new branch, its commit and the PR in one request; a replayed event finds the branch there and goes step by step.
  const opened = await scm.openPullRequest(repo, {
    ...spec,
    baseSha: run.sha,
    files: [{ path: RELEASE_PROPOSAL_FILE, content: proposal }],
    message: title,
  });
  const { pull, head } = opened
    ? { pull: opened, head: opened.headSha }
    : await stepByStep(scm, repo, spec, run.sha, proposal);
  const older = run.seen?.openPulls ?? (await scm.listPullRequests(repo, releaseBranchPrefix(config.model)));
  for (const superseded of older) {
    if (superseded.number !== pull.number)
      await scm.closePullRequest(
        repo,
        superseded.number,
        `Superseded by #${pull.number} (${report.version.version} from ${run.sha.slice(0, 7)}).`,
      );
  }
  // A commit made just now has no check runs yet: nothing to look for.
  await reportGates(
    scm,
    repo,
    head ?? (await scm.branchHead(repo, branch)) ?? run.sha,
    report,
    proposal,
    pull.url,
    head ? null : undefined,
  );
  // A PR opened just now: the check run found before is the one to finish. Otherwise (a replay)
  // it is read and compared, so a replayed event writes nothing.
  const known = opened ? run.seen?.check : undefined;
  await scm.ensureCheckRun(repo, {
    ...check,
    ...(known !== undefined && { id: known?.id ?? null }),
    status: 'completed',
    conclusion: 'success',
    title: `Release PR #${pull.number}`,
    summary: `${title} is ready for review: ${pull.url}`,
  });
  return { pullRequest: pull.number, created: pull.created, passed: report.passed };
}

/**
 * For a repo the operator policy's `signing` names: the artifact must be signed by a trusted key
 * or keyless identity and come from the release's commit (its build provenance), or the signature gate fails, and
 * with it the release. The signer is recorded in the report, for the PR and the release record.
 */
async function checkSigned(deps: ReleasePrDeps, repo: RepoRef, report: EvaluationReport, commit: string) {
  const trust = signingTrustFor(deps.policy, repoName(repo));
  if (!trust || !report.artifact) return;
  if (!deps.checkSignature)
    throw new EdgeshipError(
      `the operator policy requires ${repoName(repo)} to be signed, and this app cannot check signatures`,
    );
  // A registry the policy does not let the app read is a refusal with its fix, not an error.
  const check = await deps.checkSignature(report.artifact, commit, trust).catch((error: unknown) => {
    if (error instanceof PolicyError) return { verified: false as const, reason: error.message };
    throw error;
  });
  report.gates.push(signatureGate(check));
  if (check.verified) report.signature = check.signature;
  else report.passed = false;
}

/**
 * The release branch, its proposal and its PR one step at a time, each only where missing: what a
 * replayed event, or a crash halfway, left is found and finished. The head is the commit made
 * now, undefined when the branch already had the proposal.
 */
async function stepByStep(
  scm: Scm,
  repo: RepoRef,
  spec: PullRequestSpec,
  sha: string,
  proposal: string,
): Promise<{ pull: PullRequestInfo & { created: boolean }; head: string | undefined }> {
  const created = (await scm.createBranch(repo, spec.head, sha)) === 'created';
  const recorded = await new ScmBranchRepo(scm, repo, spec.head, undefined, created ? sha : undefined).apply(
    async () => [{ path: RELEASE_PROPOSAL_FILE, content: proposal }],
    spec.title,
  );
  return { pull: await scm.ensurePullRequest(repo, spec), head: recorded?.sha };
}

/**
 * The gate verdict as this app's `edgeship/gates` check run on the release branch head, with
 * the digest of the proposal written there: what merging that head may deploy (release-integrity.ts).
 */
export async function reportGates(
  scm: Scm,
  repo: RepoRef,
  headSha: string,
  report: EvaluationReport,
  proposal: string,
  detailsUrl: string,
  id?: null,
): Promise<void> {
  const failed = report.gates.filter((gate) => !gate.passed);
  await scm.ensureCheckRun(repo, {
    ...(id === null && { id }),
    name: GATES_CHECK,
    headSha,
    status: 'completed',
    conclusion: report.passed ? 'success' : 'failure',
    title: report.passed
      ? `All ${report.gates.length} gates passed`
      : `${failed.length} of ${report.gates.length} gates failed`,
    summary: report.gates.map((gate) => `- ${gate.passed ? '✅' : '❌'} **${gate.title}**: ${gate.reason}`).join('\n'),
    detailsUrl,
    externalId: proposalDigest(proposal),
  });
}
