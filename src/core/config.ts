import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_TRAIN_PATHS } from './train-paths.ts';
import { pinnedReference, SEMVER } from './formats.ts';
import { dnsLabel, labelKey, repoPath } from './formats.ts';
import { BUILTIN_PROFILES, hardwareProfileSchema } from './profiles.ts';
import { kubeflowTrainingSchema, kubernetesTrainingSchema } from './training-config.ts';
import { analysisSchema } from './analysis.ts';

/** Where a model repo keeps its edgeship config. */
export const CONFIG_PATH = '.github/edgeship.yml';

const threshold = z
  .strictObject({
    min: z.number().optional().describe('The metric must be at least this.'),
    max: z.number().optional().describe('The metric must be at most this.'),
  })
  .refine((value) => value.min !== undefined || value.max !== undefined, { error: 'expected `min`, `max` or both' });

export const targetSchema = z.strictObject({
  name: dnsLabel.describe('Target name: a GitOps path segment and a GitHub environment name.'),
  kind: z.enum(['edge', 'cloud']).describe('An edge site (a cluster at the site) or a cloud endpoint.'),
  profile: z.string().min(1).describe('Hardware profile the model is profiled on for this target.'),
  latencyBudgetMs: z.number().positive().describe("p95 latency the target's clients can accept, in ms."),
  memoryBudgetMb: z.number().positive().optional().describe('Memory the model may use on the target, in MiB.'),
  rttMs: z.number().nonnegative().default(0).describe('Network round trip from the site to the cloud, in ms.'),
  offloadTo: dnsLabel.optional().describe('Cloud target to offload to; defaults to the first cloud target.'),
  endpoint: z.url().optional().describe('Cloud targets: the URL edge sites reach the model at when they offload.'),
  context: z
    .string()
    .min(1)
    .optional()
    .describe("Edge targets: kubeconfig context of the site's cluster, for placement on its live capacity."),
  batch: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Rows one request carries at this target, which its latency is profiled at; profiling.batch by default.'),
  adaptive: z
    .boolean()
    .optional()
    .describe(
      "Edge targets: when both the model here and the cloud fit the budget, place it `adaptive`: the site runs the model and decides per request, from live latency and the gateway's pressure, whether to forward to the cloud of the same version.",
    ),
  package: z
    .enum(['artifact', 'modelcar', 'image'])
    .optional()
    .describe(
      'What the target deploys: the artifact the server pulls (default); for a cloud target, the KServe modelcar (artifacts.modelcar); for an edge target, the self-contained serving image (artifacts.image).',
    ),
  maxLocalCpu: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .describe(
      "Adaptive edge targets: share of the gateway's CPU (all cores = 1) inference may take before requests go to the cloud; 0.5 by default.",
    ),
  labels: z
    .record(labelKey, z.string().max(63))
    .optional()
    .describe("Labels waves select targets by (region, hardware, ring…), as the inventory's metadata.labels."),
});

const waveSchema = z
  .strictObject({
    name: dnsLabel.describe('Wave name: a DNS label, as it reaches GitHub environments, comments and markers.'),
    targets: z.array(dnsLabel).min(1).optional().describe('The targets of this wave, by name.'),
    selector: z
      .record(labelKey, z.string())
      .optional()
      .describe('Or: the targets whose labels have all of these values.'),
    percent: z
      .number()
      .gt(0)
      .max(100)
      .optional()
      .describe(
        'With a selector: this share of the matching targets, counted with the waves before (1, then 10, then 100), the same targets every release (ordered by a hash of the name).',
      ),
    soakMinutes: z.number().nonnegative().default(10).describe('Minutes a wave stays Healthy before the next.'),
  })
  .refine((wave) => (wave.targets === undefined) !== (wave.selector === undefined), {
    error: 'expected `targets` or `selector`, one of them',
  })
  .refine((wave) => wave.percent === undefined || wave.selector !== undefined, {
    error: 'expected `percent` only with a `selector`',
  });

/** `.github/edgeship.yml` of a model repo. */
export const configSchema = z
  .strictObject({
    model: dnsLabel.describe('Model name: the OCI repository name and the GitOps directory.'),
    train: z
      .strictObject({
        backend: z
          .enum(['github-actions', 'local', 'kubernetes', 'kubeflow'])
          .default('github-actions')
          .describe(
            'Where the app trains: a workflow run, a Kubernetes Job (train.kubernetes) or a Kubeflow Pipelines run (train.kubeflow).',
          ),
        command: z.string().min(1).describe('Shell command that trains and writes the outputs.'),
        outputs: repoPath.default('out').describe('Directory the command writes its outputs to.'),
        branches: z.array(z.string().min(1)).default(['main']).describe('Branches whose pushes train.'),
        paths: z
          .array(z.string().min(1))
          .min(1)
          .default([...DEFAULT_TRAIN_PATHS])
          .describe(
            "Globs of the files whose change trains, as in Actions' `paths`: later patterns win, `!` excludes. By default every file but the release proposal (`.edgeship/**`), so merging a release PR never trains.",
          ),
        workflow: z.string().default('edgeship-train.yml').describe('Workflow file for github-actions.'),
        timeoutMinutes: z
          .number()
          .positive()
          .default(60)
          .describe("Longest a run may take; a Job's activeDeadlineSeconds."),
        repoUrl: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Where cluster runs (kubernetes, kubeflow) clone the model repo from; https://github.com/<owner>/<repo>.git by default.',
          ),
        kubernetes: kubernetesTrainingSchema.optional(),
        kubeflow: kubeflowTrainingSchema.optional(),
      })
      .describe('How the model is trained.'),
    metrics: z.strictObject({
      primary: z.string().min(1).describe('Key in metrics.json that decides whether a release is better.'),
      direction: z.enum(['maximize', 'minimize']),
    }),
    gates: z
      .strictObject({
        thresholds: z.record(z.string(), threshold).default({}).describe('Absolute limits per metric.'),
        maxRegression: z
          .number()
          .min(0)
          .default(0.02)
          .describe('Largest allowed worsening of the primary metric vs the deployed release, as a fraction.'),
        golden: z
          .strictObject({ atol: z.number().nonnegative().default(1e-4), rtol: z.number().nonnegative().default(1e-3) })
          .prefault({}),
        allowBreakingContract: z
          .union([z.boolean(), z.string().regex(SEMVER, 'expected the version it allows, e.g. "2.0.0"')])
          .default(false)
          .describe(
            'Local loop only: the version of the one breaking release to allow, e.g. "2.0.0" (the next major); the next breaking change needs its own. On GitHub each breaking release is allowed on its PR with /edgeship allow-breaking.',
          ),
      })
      .prefault({}),
    profiles: z
      .record(dnsLabel, hardwareProfileSchema)
      .default({})
      .describe('Hardware profiles besides the built-in ones.'),
    profiling: z
      .strictObject({
        runs: z.number().int().min(10).max(100_000).default(300),
        warmup: z.number().int().min(0).default(20),
        batch: z
          .number()
          .int()
          .positive()
          .default(1)
          .describe(
            'Value for symbolic batch dimensions: the rows one request carries, as the targets serve it (latency budgets are per request).',
          ),
        rounds: z
          .number()
          .int()
          .min(3)
          .max(50)
          .default(5)
          .describe(
            "Rounds the runs are split into; the p95 is the median of the rounds' p95s, with their range as its interval.",
          ),
        tolerance: z
          .number()
          .positive()
          .default(0.5)
          .describe("Largest spread of the rounds' p95s (relative to their median) before they are measured again."),
        margin: z
          .number()
          .min(0)
          .max(1)
          .default(0.2)
          .describe(
            'The band around a latency budget in which a deployed placement stays: a path that serves keeps serving while its p95 is within budget × (1 + margin), and a path that does not serve starts only when the whole p95 interval is under budget ÷ (1 + margin).',
          ),
      })
      .prefault({}),
    targets: z.array(targetSchema).min(1),
    rollout: z
      .strictObject({
        waves: z.array(waveSchema).min(1),
        analysis: analysisSchema
          .optional()
          .describe(
            'Site-side analysis: each site of a wave judges the release it serves and reports to the app, which sends the next wave only when the sites passed.',
          ),
      })
      .optional(),
    gitops: z.strictObject({
      repo: z.string().min(1).describe('owner/name on GitHub, or a git URL or path for local use.'),
      branch: z.string().min(1).default('main'),
      path: repoPath.default('models').describe('Directory of the release records in the GitOps repo.'),
    }),
    serving: z
      .strictObject({
        batching: z
          .boolean()
          .default(true)
          .describe(
            'Let the server run queued requests of this model as one batch where that cannot mix rows (it checks at load); false runs each request on its own, for a model whose answers must never share a run.',
          ),
      })
      .prefault({}),
    drift: z
      .strictObject({
        cooldownMinutes: z
          .number()
          .positive()
          .default(360)
          .describe('At most one drift-triggered training per model in this many minutes.'),
      })
      .prefault({}),
    registry: z
      .strictObject({
        mlflow: z
          .strictObject({
            trackingUri: z
              .url()
              .describe('The MLflow tracking server; its token comes from MLFLOW_TRACKING_TOKEN where the app runs.'),
            model: z.string().min(1).optional().describe("Registered model name; the config's model by default."),
          })
          .optional(),
      })
      .optional()
      .describe(
        'A model registry that mirrors the GitOps repo: a version per release, aliases edge, cloud and production.',
      ),
    artifacts: z
      .strictObject({
        repository: z
          .string()
          .min(1)
          .default('oci-layout:.edgeship/oci')
          .describe('Where artifacts go: `registry/namespace` or `oci-layout:<dir>`.'),
        modelcar: z
          .strictObject({
            base: pinnedReference.describe(
              'A minimal image with `sh` and `sleep` (busybox), on the artifacts registry, pinned by digest.',
            ),
          })
          .optional()
          .describe(
            'Also push a KServe modelcar: the base image plus a layer with the model at /models/model.onnx, for `oci://` storage URIs.',
          ),
        image: z
          .strictObject({
            base: pinnedReference.describe(
              'The serving image (an index for several platforms), on the artifacts registry, pinned by digest.',
            ),
          })
          .optional()
          .describe(
            'Also push a self-contained serving image: the serving image plus a layer with the model at /models, for sites that start with no registry reachable.',
          ),
      })
      .prefault({}),
  })
  .superRefine(checkReferences);

export type EdgeshipConfig = z.infer<typeof configSchema>;
export type Target = EdgeshipConfig['targets'][number];
/** A wave with its targets resolved (wavesOf): by name, or by selector and share. */
export type Wave = Omit<NonNullable<EdgeshipConfig['rollout']>['waves'][number], 'targets'> & { targets: string[] };

/** Cross-field rules zod cannot express field by field. */
function checkReferences(config: z.infer<typeof configSchema>, ctx: z.RefinementCtx): void {
  checkTrainingBackend(config, ctx);
  const profiles = new Set([...Object.keys(BUILTIN_PROFILES), ...Object.keys(config.profiles)]);
  const byName = new Map<string, Target>();
  config.targets.forEach((target, index) => {
    if (byName.has(target.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', index, 'name'],
        message: `duplicate target name "${target.name}"`,
      });
    }
    byName.set(target.name, target);
    if (!profiles.has(target.profile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', index, 'profile'],
        message: `expected a built-in profile (${Object.keys(BUILTIN_PROFILES).join(', ')}) or one declared under profiles: in this file${Object.keys(config.profiles).length > 0 ? ` (${Object.keys(config.profiles).join(', ')})` : ''}, found "${target.profile}"`,
      });
    }
    if (target.kind === 'edge' && target.memoryBudgetMb === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', index, 'memoryBudgetMb'],
        message: 'expected a memory budget for an edge target, found none',
      });
    }
    if (target.package === 'modelcar' || target.package === 'image') {
      const kind = target.package === 'modelcar' ? 'cloud' : 'edge';
      if (target.kind !== kind)
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'package'],
          message: `expected ${target.package === 'modelcar' ? 'modelcar only on a cloud target (KServe mounts it)' : 'image only on an edge target'}, found it on ${target.kind} target "${target.name}"`,
        });
      else if (!config.artifacts[target.package])
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'package'],
          message: `expected artifacts.${target.package}.base (the base image to build the ${target.package} from), found none`,
        });
    }
  });
  config.targets.forEach((target, index) => {
    if (target.offloadTo === undefined) return;
    const cloud = byName.get(target.offloadTo);
    if (cloud?.kind !== 'cloud') {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', index, 'offloadTo'],
        message: `expected the name of a cloud target, found "${target.offloadTo}"`,
      });
    }
  });
  const seen = new Set<string>();
  const resolved = config.rollout ? resolveWaves(config.targets, config.rollout.waves) : [];
  config.rollout?.waves.forEach((wave, waveIndex) => {
    if (wave.selector) {
      if (!config.targets.some((target) => matches(target, wave.selector ?? {}))) {
        ctx.addIssue({
          code: 'custom',
          path: ['rollout', 'waves', waveIndex, 'selector'],
          message: `expected labels of at least one target (targets[].labels), found none matching ${JSON.stringify(wave.selector)}`,
        });
      }
      for (const name of resolved[waveIndex]?.targets ?? []) seen.add(name);
      return;
    }
    (wave.targets ?? []).forEach((name, index) => {
      const path = ['rollout', 'waves', waveIndex, 'targets', index];
      if (!byName.has(name)) ctx.addIssue({ code: 'custom', path, message: `expected a target name, found "${name}"` });
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `target "${name}" is in more than one wave` });
      seen.add(name);
    });
  });
  for (const kind of ['modelcar', 'image'] as const) {
    const base = config.artifacts[kind]?.base;
    if (!base) continue;
    // Images are assembled on the registry artifacts go to, with its credentials, from a base there.
    const registry = config.artifacts.repository.split('/')[0];
    if (config.artifacts.repository.startsWith('oci-layout:'))
      ctx.addIssue({
        code: 'custom',
        path: ['artifacts', kind],
        message: `expected artifacts.repository to be a registry (registry/namespace) to assemble the ${kind} on, found "${config.artifacts.repository}"`,
      });
    else if (base.split('/')[0] !== registry)
      ctx.addIssue({
        code: 'custom',
        path: ['artifacts', kind, 'base'],
        message: `expected a base image on ${registry} (where artifacts go: credentials go nowhere else), found "${base}"`,
      });
  }
  if (config.rollout) {
    const missing = config.targets.filter((target) => !seen.has(target.name)).map((target) => target.name);
    if (missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'waves'],
        message: `expected every target in a wave, missing ${missing.join(', ')}`,
      });
    }
  }
}

/** A cluster backend needs its block, and a registry both the cluster and the app reach. */
function checkTrainingBackend(config: z.infer<typeof configSchema>, ctx: z.RefinementCtx): void {
  const { backend } = config.train;
  if (backend !== 'kubernetes' && backend !== 'kubeflow') return;
  if (!config.train[backend]) {
    ctx.addIssue({
      code: 'custom',
      path: ['train', backend],
      message: `expected a train.${backend} block for train.backend: ${backend}, found none`,
    });
  }
  if (config.artifacts.repository.startsWith('oci-layout:')) {
    ctx.addIssue({
      code: 'custom',
      path: ['artifacts', 'repository'],
      message: `expected a registry (registry/namespace) that the ${backend} run pushes to and the app reads from, found "${config.artifacts.repository}"`,
    });
  }
}

/** The rows one request carries at a target: what its latency is profiled at. */
export const batchOf = (config: Pick<EdgeshipConfig, 'profiling'>, target: Pick<Target, 'batch'>) =>
  target.batch ?? config.profiling.batch;

/**
 * Each hardware profile and batch the placement needs a latency for: every target's own, and
 * for an edge site the cloud it may offload to at the site's batch (its requests are forwarded
 * as they are).
 */
export function profilingNeeds(config: EdgeshipConfig): { profile: string; batch: number }[] {
  const clouds = config.targets.filter((target) => target.kind === 'cloud');
  // Each target's own first, in the config's order, then the clouds at the sites' batches.
  const needs = [
    ...config.targets.map((target) => ({ profile: target.profile, batch: batchOf(config, target) })),
    ...config.targets.flatMap((target) => {
      const cloud =
        target.kind === 'edge'
          ? (clouds.find((candidate) => candidate.name === target.offloadTo) ?? clouds[0])
          : undefined;
      return cloud ? [{ profile: cloud.profile, batch: batchOf(config, target) }] : [];
    }),
  ];
  return needs.filter(
    (need, index) => needs.findIndex((other) => other.profile === need.profile && other.batch === need.batch) === index,
  );
}

const resolvedWaves = new WeakMap<EdgeshipConfig, readonly Wave[]>();

/**
 * The rollout waves with their targets, defaulting to a single wave with every target. Resolved
 * once per config (a fleet's waves hash every target's name), handed out as a copy.
 */
export function wavesOf(config: EdgeshipConfig): Wave[] {
  let waves = resolvedWaves.get(config);
  if (!waves) {
    waves = config.rollout
      ? resolveWaves(config.targets, config.rollout.waves)
      : [{ name: 'all', targets: config.targets.map((target) => target.name), soakMinutes: 0 }];
    resolvedWaves.set(config, waves);
  }
  return waves.map((wave) => ({ ...wave, targets: [...wave.targets] }));
}

const targetIndexes = new WeakMap<EdgeshipConfig, { byName: ReadonlyMap<string, Target>; cloud: Target | undefined }>();

function targetIndex(config: EdgeshipConfig) {
  let index = targetIndexes.get(config);
  if (!index) {
    index = {
      byName: new Map(config.targets.map((target) => [target.name, target])),
      cloud: config.targets.find((target) => target.kind === 'cloud'),
    };
    targetIndexes.set(config, index);
  }
  return index;
}

/** The config's target of that name, found in a map made once per config (a fleet has thousands). */
export const targetNamed = (config: EdgeshipConfig, name: string): Target | undefined =>
  targetIndex(config).byName.get(name);

/** The config's first cloud target: where a site offloads when it names none. */
export const firstCloudTarget = (config: EdgeshipConfig): Target | undefined => targetIndex(config).cloud;

const matches = (target: Pick<Target, 'labels'>, selector: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => target.labels?.[key] === value);

/** Where a target stands in every percentage wave: a hash of its name, so a share picks the same targets every release and spreads over the fleet. */
const rank = (name: string) => createHash('sha256').update(name).digest('hex');

/**
 * Each wave's targets: its names, or the targets its selector matches, in rank order, up to its
 * share of them counted with the waves before (a wave of 10% after one of 1% of the same
 * selector adds the next 9%), leaving out targets an earlier wave has.
 */
function resolveWaves(
  targets: readonly Target[],
  waves: readonly NonNullable<EdgeshipConfig['rollout']>['waves'][number][],
): Wave[] {
  const taken = new Set<string>();
  return waves.map((wave) => {
    let names = wave.targets ?? [];
    if (wave.selector) {
      const ranked = targets
        .filter((target) => matches(target, wave.selector ?? {}))
        .map((target) => ({ name: target.name, rank: rank(target.name) }));
      const matching = ranked
        .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
        .map((target) => target.name);
      names = matching
        .slice(0, Math.ceil((matching.length * (wave.percent ?? 100)) / 100))
        .filter((name) => !taken.has(name));
    }
    for (const name of names) taken.add(name);
    return { ...wave, targets: names };
  });
}
