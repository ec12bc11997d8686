import { z } from 'zod';
import { contractDiffSchema, modelContractSchema } from './contract.ts';
import { EdgeshipError } from './errors.ts';
import { branchName, commitSha, digestString, dnsLabel, finite, pinnedReference, semverString } from './formats.ts';
import { breakingApprovalSchema, gateResultSchema } from './gates.ts';
import { goldenResultSchema } from './golden.ts';
import { metricDeltaSchema } from './metrics.ts';
import { parseJsonWith } from './parse-json.ts';
import { placementChoiceSchema, placementDecisionSchema } from './placement.ts';
import { releaseSignatureSchema } from './release-signature.ts';
import { profileResultSchema } from './profiling.ts';
import { nextVersionSchema } from './version.ts';

/**
 * The evaluation report (`edgeship evaluate`'s output, a run's artifact, the release proposal
 * `.edgeship/release.json`): its one definition, and its type inferred from it. Every value
 * that later reaches a URL, YAML, a path or a Kubernetes object is held to a strict grammar; a
 * report from outside that breaks one is refused whole, with the field named.
 */

/** What ONNX inspection found out about a model file. */
export const modelInspectionSchema = z.object({
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  irVersion: z.number().int(),
  producer: z.string().max(500),
  contract: modelContractSchema,
  metadata: z.record(z.string(), z.string()),
});
export type ModelInspection = z.infer<typeof modelInspectionSchema>;

/** The release currently deployed, read from the GitOps repo and its artifact. */
export const baselineSchema = z.object({
  version: semverString,
  reference: z.string().max(500),
  digest: digestString,
  metrics: z.record(z.string(), finite),
  contract: modelContractSchema,
  /** Where each target runs it (the release record): an uncertain latency keeps it there. */
  placements: z.record(dnsLabel, placementChoiceSchema).optional(),
  /** The primary metric of the releases before, oldest first (the release record's history). */
  history: z
    .array(z.object({ version: semverString, value: finite }))
    .max(100)
    .optional(),
  /** sha256 of the deployed artifact's model.onnx: a candidate with the same bytes is nothing to release. */
  modelSha256: z.string().optional(),
});
export type Baseline = z.infer<typeof baselineSchema>;

export const provenanceSchema = z.object({
  /** Why this run trained: a push, a retrain request, or drift evidence from the edge. */
  trigger: z.string().optional(),
  commit: commitSha.optional(),
  branch: branchName.optional(),
  runUrl: z.string().optional(),
  command: z.string().optional(),
  trainedAt: z.string().max(100),
});
export type Provenance = z.infer<typeof provenanceSchema>;

/** A container image of a release (a modelcar, a serving image): pinned by digest, with the platforms it has. */
export const packageImageSchema = z.strictObject({
  reference: pinnedReference,
  digest: digestString,
  platforms: z.array(z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, 'os/architecture')).max(20),
});
export type PackageImage = z.infer<typeof packageImageSchema>;

/** A rollout wave in the report: its targets, and the selector and share that chose them. */
export const releaseWaveSchema = z.object({
  name: z.string().max(200),
  targets: z.array(dnsLabel),
  selector: z.record(z.string().max(317), z.string().max(63)).optional(),
  percent: finite.optional(),
});
export type ReleaseWave = z.infer<typeof releaseWaveSchema>;

/** Everything a release PR shows and a release commit needs: the output of `evaluate`. */
export const evaluationReportSchema = z
  .object({
    schemaVersion: z.literal(1),
    model: dnsLabel,
    version: nextVersionSchema,
    primary: z.object({
      name: z.string().min(1).max(200),
      direction: z.enum(['maximize', 'minimize']),
      improved: z.boolean(),
    }),
    candidate: modelInspectionSchema,
    baseline: baselineSchema.omit({ contract: true, metrics: true }).optional(),
    metrics: z.array(metricDeltaSchema),
    contractDiff: contractDiffSchema.optional(),
    golden: goldenResultSchema,
    profiles: z.array(profileResultSchema),
    placement: z.array(placementDecisionSchema),
    /** The rollout's waves as the config resolves them (absent without rollout waves). */
    waves: z.array(releaseWaveSchema).optional(),
    gates: z.array(gateResultSchema),
    passed: z.boolean(),
    provenance: provenanceSchema,
    /** Who signed the artifact, as the app verified it (repos the operator policy requires signed). */
    signature: releaseSignatureSchema.optional(),
    /** Set once the artifact is published. */
    artifact: z
      .strictObject({
        reference: pinnedReference,
        digest: digestString,
        packages: z
          .strictObject({ modelcar: packageImageSchema.optional(), image: packageImageSchema.optional() })
          .optional(),
      })
      .optional(),
    /** Approvals given on the release PR: a breaking change allowed for this release. */
    approvals: z.strictObject({ breaking: breakingApprovalSchema.optional() }).optional(),
  })
  .refine((report) => !report.artifact || report.artifact.reference.endsWith(`@${report.artifact.digest}`), {
    error: 'artifact.reference must be pinned by artifact.digest',
    path: ['artifact', 'reference'],
  });
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

/**
 * Parses a report from outside; `where` names it in the error. The schema checks every field
 * that reaches a URL, YAML or a path, and the shape of the rest.
 */
export function parseEvaluationReport(text: string, where: string): EvaluationReport {
  return parseJsonWith(
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
}
