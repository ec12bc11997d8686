import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationReport } from '../core/release-plan.ts';
import { MEDIA_TYPES } from '../core/artifact.ts';
import { reportTag } from '../core/training-run.ts';
import type { ArtifactStore, PushedArtifact, TrainingOutputs } from '../ports.ts';

/**
 * Publishes the model artifact: the ONNX file with its metrics, contract, golden samples and
 * reference statistics, tagged with the version and pinned by the manifest digest.
 */
export async function publish(store: ArtifactStore, outputs: TrainingOutputs, report: EvaluationReport): Promise<PushedArtifact> {
  const contract = join(outputs.directory, 'contract.json');
  await writeFile(contract, `${JSON.stringify(report.candidate.contract, null, 2)}\n`);
  const file = (name: keyof typeof MEDIA_TYPES, path: string) => ({ name, mediaType: MEDIA_TYPES[name], path });
  return store.push({
    name: report.model,
    tag: report.version.version,
    files: [
      file('model.onnx', outputs.model),
      file('metrics.json', outputs.metrics),
      file('contract.json', contract),
      file('golden.json', outputs.golden),
      file('reference-stats.json', outputs.reference),
    ],
    config: {
      model: report.model,
      version: report.version.version,
      modelSha256: report.candidate.sha256,
      contract: report.candidate.contract,
      metrics: Object.fromEntries(report.metrics.map((metric) => [metric.name, metric.value])),
      provenance: report.provenance,
    },
    annotations: {
      'org.opencontainers.image.title': report.model,
      'org.opencontainers.image.version': report.version.version,
      'org.opencontainers.image.created': report.provenance.trainedAt,
      ...(report.provenance.commit && { 'org.opencontainers.image.revision': report.provenance.commit }),
    },
    // Published again (a retried release), the same model keeps its artifact; another one is refused.
    immutable: { identity: 'modelSha256' },
  });
}

export const REPORT_MEDIA_TYPE = 'application/vnd.edgeship.report.v1+json';

/**
 * Stores the evaluation report of a cluster run as an OCI artifact in the model's repository,
 * under the tag the app reads it from (`report-<run key>`); the model artifact must be in it.
 */
export async function publishReport(store: ArtifactStore, report: EvaluationReport, key: string, directory: string): Promise<PushedArtifact> {
  const path = join(directory, 'report.json');
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return store.push({
    name: report.model,
    tag: reportTag(key),
    files: [{ name: 'report.json', mediaType: REPORT_MEDIA_TYPE, path }],
    config: { model: report.model, version: report.version.version, runKey: key, ...(report.artifact && { artifact: report.artifact.reference }) },
  });
}
