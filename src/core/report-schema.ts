import { z } from 'zod';
import { EdgeshipError } from './errors.ts';
import { parseJsonWith } from './parse-json.ts';
import { dnsLabel } from './names.ts';
import type { EvaluationReport } from './release-plan.ts';

/**
 * The evaluation report as it enters from outside (a run's artifact, a release branch, a file):
 * every value that later reaches a URL, YAML, a path or a Kubernetes object is held to a strict
 * grammar here; a report that breaks one is refused whole, with the field named.
 */

/** Semantic Versioning 2.0.0, as semver.org gives it: no spaces, no line breaks. */
export const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPOSITORY = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*';
/** `registry[:port]/repository@sha256:…` or, for the local loop, `oci-layout:<dir>@sha256:…`. */
export const PINNED_REFERENCE = new RegExp(
  `^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\\d{1,5})?/${REPOSITORY}|oci-layout:[\\w./-]+)@sha256:[a-f0-9]{64}$`,
);

const strict = (pattern: RegExp, what: string) =>
  z.string().regex(pattern, { error: (issue) => `expected ${what}, found ${JSON.stringify(issue.input)}` });
export const semverString = strict(SEMVER, 'a semantic version such as 1.2.3');
export const digestString = strict(DIGEST, 'sha256: and 64 lowercase hex digits');
export const pinnedReference = strict(
  PINNED_REFERENCE,
  'an artifact reference pinned by digest (registry/repository@sha256:…)',
);
const sha = strict(/^[0-9a-f]{40}$/, 'a commit sha (40 hex digits)');
/** A branch name git and GitHub accept, without spaces, control characters or markdown. */
const branchName = strict(/^(?!.*\.\.)(?!\/)[\w./-]{1,200}$/, 'a branch name');
const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });

/** A container image of a release: pinned by digest, with the platforms it has. */
const packageSchema = z.strictObject({
  reference: pinnedReference,
  digest: digestString,
  platforms: z.array(z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, 'os/architecture')).max(20),
});

const placementSchema = z.looseObject({
  target: dnsLabel,
  kind: z.enum(['edge', 'cloud']),
  profile: dnsLabel.optional(),
  choice: z.enum(['edge', 'offload', 'adaptive', 'cloud', 'blocked']),
  offloadTo: dnsLabel.optional(),
  p95Ms: finite.optional(),
  latencyBudgetMs: finite,
  memoryMb: finite.optional(),
  memoryBudgetMb: finite.optional(),
  reason: z.string().max(2000),
});

export const evaluationReportSchema = z
  .looseObject({
    schemaVersion: z.literal(1),
    model: dnsLabel,
    version: z.looseObject({
      version: semverString,
      bump: z.enum(['initial', 'major', 'minor', 'patch', 'none']),
      reason: z.string().max(2000),
    }),
    primary: z.looseObject({
      name: z.string().min(1).max(200),
      direction: z.enum(['maximize', 'minimize']),
      improved: z.boolean(),
    }),
    candidate: z.looseObject({
      sha256: z.string().regex(/^[a-f0-9]{64}$/),
      sizeBytes: z.number().int().nonnegative(),
      contract: z.looseObject({}),
    }),
    baseline: z
      .looseObject({
        version: semverString,
        reference: z.string().max(500),
        digest: digestString,
        placements: z.record(dnsLabel, z.enum(['edge', 'offload', 'adaptive', 'cloud', 'blocked'])).optional(),
        history: z
          .array(z.object({ version: semverString, value: z.number().finite() }))
          .max(100)
          .optional(),
      })
      .optional(),
    metrics: z.array(z.looseObject({ name: z.string().min(1).max(200), value: finite })),
    golden: z.looseObject({ passed: z.boolean() }),
    profiles: z.array(
      z.looseObject({
        profile: z.string().min(1).max(100),
        p95: z
          .looseObject({
            p95Ms: finite,
            lowMs: finite,
            highMs: finite,
            rounds: z.number().int().positive(),
            spread: finite,
            stable: z.boolean(),
            remeasured: z.boolean().optional(),
          })
          .optional(),
        calibration: z
          .looseObject({ nominalRunMs: finite, hostRunMs: finite, spread: finite, stable: z.boolean() })
          .optional(),
      }),
    ),
    placement: z.array(placementSchema),
    waves: z
      .array(
        z.looseObject({
          name: z.string().max(200),
          targets: z.array(dnsLabel),
          selector: z.record(z.string().max(317), z.string().max(63)).optional(),
          percent: finite.optional(),
        }),
      )
      .optional(),
    gates: z.array(z.looseObject({ passed: z.boolean() })),
    passed: z.boolean(),
    provenance: z.looseObject({
      commit: sha.optional(),
      branch: branchName.optional(),
      trainedAt: z.string().max(100),
    }),
    artifact: z
      .strictObject({
        reference: pinnedReference,
        digest: digestString,
        packages: z.strictObject({ modelcar: packageSchema.optional(), image: packageSchema.optional() }).optional(),
      })
      .optional(),
    approvals: z
      .strictObject({
        breaking: z
          .strictObject({
            by: strict(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub login'),
            at: z.string().max(100),
            where: strict(/^#\d{1,10}$/, 'a PR number such as #12'),
          })
          .optional(),
      })
      .optional(),
  })
  .refine((report) => !report.artifact || report.artifact.reference.endsWith(`@${report.artifact.digest}`), {
    error: 'artifact.reference must be pinned by artifact.digest',
    path: ['artifact', 'reference'],
  });

/**
 * Parses a report from outside; `where` names it in the error. The schema checks every field
 * that reaches a URL, YAML or a path, and the shape of the rest.
 */
export function parseEvaluationReport(text: string, where: string): EvaluationReport {
  const report = parseJsonWith(
    evaluationReportSchema,
    text,
    (issues) =>
      new EdgeshipError(
        `${where} is not a valid edgeship evaluation report (schemaVersion 1):\n${issues
          .slice(0, 5)
          .map((issue) => `  - ${issue}`)
          .join('\n')}`,
      ),
    'evaluation report',
  );
  // The schema checked every field edgeship reads; loose objects keep the rest as written.
  return report as unknown as EvaluationReport;
}
