import { z } from 'zod';
import { EdgeshipError } from '../../core/errors.ts';
import { dnsLabel } from '../../core/names.ts';
import { semverString } from '../../core/report-schema.ts';
import type { Logger, RepoRef, Scm } from '../../ports.ts';
import { readConfigAt } from './model-repo.ts';
import type { ClusterTrainingDeps } from './cluster-training.ts';
import { startTraining, type TrainingStart } from './start-training.ts';

/** `client_payload` of an `edgeship-drift` repository_dispatch, as the edge server sends it. */
export const driftEvidenceSchema = z.strictObject({
  model: dnsLabel,
  site: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, { error: 'expected a site name (lowercase letters, digits, . and -)' }),
  version: semverString.optional(),
  window: z.strictObject({ start: z.string().max(40), end: z.string().max(40) }).optional(),
  features: z
    .array(z.strictObject({ name: z.string().regex(/^[\w.:-]{1,64}$/, { error: 'expected a feature name of letters, digits, _ . : - (at most 64)' }), score: z.number().refine(Number.isFinite, { error: 'expected a finite score' }) }))
    .min(1)
    .max(256),
});

export type DriftEvidence = z.infer<typeof driftEvidenceSchema>;

/**
 * Starts re-training on drift evidence, at most once per model and cooldown window: the window
 * number is part of the run key, so further evidence in the same window finds the run started.
 */
export async function onDrift(
  deps: { scm: Scm; log: Logger } & ClusterTrainingDeps,
  repo: RepoRef,
  input: { branch: string; payload: unknown; now: number },
): Promise<TrainingStart | 'other-model'> {
  const parsed = driftEvidenceSchema.safeParse(input.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EdgeshipError(`edgeship-drift client_payload.${issue?.path.join('.')}: ${issue?.message}`);
  }
  const evidence = parsed.data;
  const sha = await deps.scm.branchHead(repo, input.branch);
  if (!sha) throw new EdgeshipError(`${repo.owner}/${repo.repo} has no branch ${input.branch} to retrain`);
  const config = await readConfigAt(deps.scm, repo, sha);
  if (!config) return 'not-a-model-repo';
  if (config.model !== evidence.model) return 'other-model';
  const window = Math.floor(input.now / (config.drift.cooldownMinutes * 60_000));
  const scores = evidence.features.map((feature) => `${feature.name}=${feature.score}`).join(', ');
  deps.log.info({ model: evidence.model, site: evidence.site, window }, 'Drift evidence received');
  return startTraining(deps, {
    repo,
    sha,
    branch: input.branch,
    reason: 'drift',
    occurrence: String(window),
    context: JSON.stringify({ ...evidence, summary: `drift at ${evidence.site}: ${scores}` }),
  });
}
