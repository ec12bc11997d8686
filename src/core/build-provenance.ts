import { z } from 'zod';
import { IN_TOTO_STATEMENT_TYPE } from './model-signing.ts';
import type { Provenance } from './report-schema.ts';

/**
 * SLSA v1 build provenance (https://slsa.dev/spec/v1.0/provenance) of a published model artifact:
 * an in-toto Statement v1 whose subject is the artifact's manifest digest and whose predicate says
 * what built it: the model and version (external parameters), the commit trained (a resolved
 * dependency) and the run (run details). Signed next to the model's files and attached to the
 * artifact, it lets the app check that an artifact comes from the commit a release names.
 */

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** What an edgeship release build is (SLSA asks for a URI; SECURITY.md describes its parameters). */
export const RELEASE_BUILD_TYPE = 'urn:edgeship:buildtype:release:v1';
/** Who ran it: the edgeship step that publishes (`publish`, `release`, `cloud-run`, the publish Action). */
export const PUBLISH_BUILDER = 'urn:edgeship:builder:publish';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

/** The statement as the app reads it: only what it checks is required. */
export const provenanceStatementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string().min(1), digest: z.object({ sha256: hex64 }) })).min(1),
  predicateType: z.literal(SLSA_PROVENANCE_V1),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string().min(1),
      externalParameters: z.object({ model: z.string(), version: z.string() }),
      resolvedDependencies: z
        .array(z.object({ uri: z.string().optional(), digest: z.record(z.string(), z.string()).optional() }))
        .optional(),
    }),
    runDetails: z.object({
      builder: z.object({ id: z.string().min(1) }),
      metadata: z
        .object({
          invocationId: z.string().optional(),
          startedOn: z.string().optional(),
          finishedOn: z.string().optional(),
        })
        .optional(),
    }),
  }),
});
export type ProvenanceStatement = z.infer<typeof provenanceStatementSchema>;

/** The provenance of the artifact `digest` (`sha256:…`) published as `name`, from the report's provenance. */
export function buildProvenance(
  name: string,
  digest: string,
  release: { model: string; version: string; provenance: Provenance },
  finishedOn: string,
): ProvenanceStatement & { predicate: { buildDefinition: { internalParameters: object } } } {
  const { provenance } = release;
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name, digest: { sha256: digest.replace(/^sha256:/, '') } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: RELEASE_BUILD_TYPE,
        externalParameters: {
          model: release.model,
          version: release.version,
          ...(provenance.branch && { branch: provenance.branch }),
          ...(provenance.trigger && { trigger: provenance.trigger }),
        },
        internalParameters: { ...(provenance.command && { command: provenance.command }) },
        ...(provenance.commit && {
          resolvedDependencies: [
            {
              ...(provenance.branch && { uri: `git+ref:refs/heads/${provenance.branch}` }),
              digest: { gitCommit: provenance.commit },
            },
          ],
        }),
      },
      runDetails: {
        builder: { id: PUBLISH_BUILDER },
        metadata: {
          ...(provenance.runUrl && { invocationId: provenance.runUrl }),
          startedOn: provenance.trainedAt,
          finishedOn,
        },
      },
    },
  };
}

/** What a provenance statement says about a release, for the PR to show. */
export interface ProvenanceFacts {
  commit?: string;
  runUrl?: string;
}

/**
 * Why `statement` is not the provenance of the artifact `digest` built from `commit`: the subject
 * must be the artifact, and the commit trained, when the statement names one, the release's.
 */
export function provenanceProblems(
  statement: ProvenanceStatement,
  digest: string,
  commit: string | undefined,
): { problems: string[]; facts: ProvenanceFacts } {
  const problems: string[] = [];
  const hex = digest.replace(/^sha256:/, '');
  if (!statement.subject.some((subject) => subject.digest.sha256 === hex))
    problems.push(`its subject is not the artifact ${digest}`);
  const built = statement.predicate.buildDefinition.resolvedDependencies?.find(
    (dependency) => dependency.digest?.gitCommit,
  )?.digest?.gitCommit;
  if (commit && built !== commit)
    problems.push(`it was built from commit ${built ?? '(none named)'}, the release is of ${commit}`);
  const runUrl = statement.predicate.runDetails.metadata?.invocationId;
  return { problems, facts: { ...(built && { commit: built }), ...(runUrl && { runUrl }) } };
}
