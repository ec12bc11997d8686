import { z } from 'zod';
import { EdgeshipError } from '../../core/errors.ts';
import { dnsLabel, repoName, semverString } from '../../core/formats.ts';
import { checkWith } from '../../core/parse-json.ts';
import type { KeyedLock } from '../../core/keyed-lock.ts';
import type { Logger, RepoRef, Scm } from '../../ports.ts';
import { readConfigAt } from './model-repo.ts';
import type { ClusterTrainingDeps } from './cluster-training.ts';
import { startTraining, type TrainingStart } from './start-training.ts';

/** `client_payload` of an `edgeship-drift` repository_dispatch, as the edge server sends it. */
export const driftEvidenceSchema = z.strictObject({
  model: dnsLabel,
  site: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, {
    error: 'expected a site name (lowercase letters, digits, . and -)',
  }),
  version: semverString.optional(),
  window: z.strictObject({ start: z.string().max(40), end: z.string().max(40) }).optional(),
  features: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[\w.:-]{1,64}$/, { error: 'expected a feature name of letters, digits, _ . : - (at most 64)' }),
        score: z.number().refine(Number.isFinite, { error: 'expected a finite score' }),
      }),
    )
    .min(1)
    .max(256),
});

export type DriftEvidence = z.infer<typeof driftEvidenceSchema>;

/** The deployment environment that records a model's drift events at a site: GitHub keeps the record. */
export const driftEnvironment = (model: string, site: string) => `edgeship-drift/${model}/${site}`;

/** A drift event recorded on GitHub, to take (start its training) off the answer path. */
export interface DriftEvent {
  id: number;
  sha: string;
  branch: string;
  evidence: DriftEvidence;
}

/**
 * Records drift evidence before it is acknowledged, at most once per model and site in a sliding
 * cooldown (one at a time per model and site in this process; with several replicas, deliveries
 * that reach two of them at once are settled by step 4):
 * 1. read the config of the branch head; other models' evidence, and sites that are not targets
 *    of the model, are refused with the reason;
 * 2. the newest drift event of the model at the site (a GitHub deployment to
 *    `edgeship-drift/<model>/<site>`) younger than `drift.cooldownMinutes` means cooling down,
 *    whatever else trained in between;
 * 3. otherwise record the event: a deployment carrying the evidence, which a resync takes if the
 *    app stops before `takeDriftEvent` marks it;
 * 4. of events recorded together (by other replicas), the oldest in the window wins.
 */
export async function recordDrift(
  deps: { scm: Scm; log: Logger; lock: KeyedLock },
  repo: RepoRef,
  input: { branch: string; payload: unknown; now: number },
): Promise<DriftEvent | DriftRefusal | 'cooling-down'> {
  const evidence = parseEvidence(input.payload, 'edgeship-drift client_payload');
  // One look-then-record at a time per model and site: evidence posted together records once.
  return deps.lock.run(`${repoName(repo)}:${evidence.model}:${evidence.site}`, () =>
    recordOnce(deps, repo, input, evidence),
  );
}

/** Evidence the app does not record, and why (the site's answer is 403 with the reason). */
export interface DriftRefusal {
  refused: string;
}

async function recordOnce(
  deps: { scm: Scm; log: Logger },
  repo: RepoRef,
  input: { branch: string; now: number },
  evidence: DriftEvidence,
): Promise<DriftEvent | DriftRefusal | 'cooling-down'> {
  const sha = await deps.scm.branchHead(repo, input.branch);
  if (!sha) throw new EdgeshipError(`${repoName(repo)} has no branch ${input.branch} to retrain`);
  const config = await readConfigAt(deps.scm, repo, sha);
  const name = repoName(repo);
  if (!config) return { refused: `${name} has no .github/edgeship.yml on ${input.branch}` };
  if (config.model !== evidence.model)
    return { refused: `${name} releases model ${config.model}, not ${evidence.model}` };
  if (!config.targets.some((target) => target.name === evidence.site))
    return { refused: `${evidence.site} is not a target of ${evidence.model} in .github/edgeship.yml of ${name}` };
  const environment = driftEnvironment(evidence.model, evidence.site);
  const cooldownMs = config.drift.cooldownMinutes * 60_000;
  const [last] = await deps.scm.listDeployments(repo, environment, 1);
  if (last && input.now - Date.parse(last.createdAt) < cooldownMs) {
    deps.log.info(
      { model: evidence.model, site: evidence.site, last: last.createdAt },
      'Drift evidence within the cooldown',
    );
    return 'cooling-down';
  }
  const id = await deps.scm.createDeployment(repo, sha, environment, `drift at ${evidence.site}`, {
    edgeship: 'drift',
    evidence,
  });
  // Deliveries that arrive together all pass the look above: the oldest event in the window
  // wins, the others step aside (inactive), so one drift trains once.
  const window = (await deps.scm.listDeployments(repo, environment, 20)).filter(
    (event) => event.id === id || input.now - Date.parse(event.createdAt) < cooldownMs,
  );
  const first = Math.min(...window.map((event) => event.id));
  if (first !== id) {
    await deps.scm.setDeploymentStatus(repo, id, 'inactive', `drift event ${first} of the same window is retraining`);
    return 'cooling-down';
  }
  deps.log.info({ model: evidence.model, site: evidence.site }, 'Drift evidence received');
  return { id, sha, branch: input.branch, evidence };
}

/** Starts the training a recorded drift event asks for, and marks the event taken. */
export async function takeDriftEvent(
  deps: { scm: Scm; log: Logger } & ClusterTrainingDeps,
  repo: RepoRef,
  event: DriftEvent,
): Promise<TrainingStart> {
  const { evidence } = event;
  const scores = evidence.features.map((feature) => `${feature.name}=${feature.score}`).join(', ');
  const started = await startTraining(deps, {
    repo,
    sha: event.sha,
    branch: event.branch,
    reason: 'drift',
    occurrence: String(event.id),
    context: JSON.stringify({ ...evidence, summary: `drift at ${evidence.site}: ${scores}` }),
  });
  const taken = started === 'started' || started === 'already-started';
  await deps.scm.setDeploymentStatus(
    repo,
    event.id,
    taken ? 'success' : 'failure',
    taken ? 'retraining started' : `not retrained: ${started}`,
  );
  return started;
}

/** Evidence from an edge site or a recorded event, parsed strictly; `where` names it in the error. */
export function parseEvidence(payload: unknown, where: string): DriftEvidence {
  // The first problem only: evidence comes from machines, and one line is what a log shows.
  return checkWith(driftEvidenceSchema, payload, (issues) => new EdgeshipError(`${where}: ${issues[0]}`));
}
