import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationReport } from '../core/report-schema.ts';
import { MEDIA_TYPES, PREDICATE_ANNOTATION, SIGNATURE_FILE, SIGNATURE_MEDIA_TYPE } from '../core/artifact.ts';
import { buildProvenance, SLSA_PROVENANCE_V1 } from '../core/build-provenance.ts';
import { OMS_PREDICATE_TYPE } from '../core/model-signing.ts';
import { ArtifactError } from '../core/errors.ts';

/** The file in a release's images that names the model and version at /models. */
export const IMAGE_MODEL_FILE = 'models/edgeship.json';
import { reportTag } from '../core/training-run.ts';
import type { ArtifactStore, Attachment, ModelSigner, PushedArtifact, TrainingOutputs } from '../ports.ts';
import { sha256File } from './file-hash.ts';

/**
 * Publishes the model artifact: the ONNX file with its metrics, contract, golden samples and
 * reference statistics, tagged with the version and pinned by the manifest digest. With a
 * `signer` (EDGESHIP_SIGNING_KEY), those five files are signed and the bundle is attached to the
 * artifact and to its images as an OCI referrer, so a site verifies exactly what was published;
 * the artifact's SLSA build provenance (the commit and run it came from) is attached next to it.
 * The signature is not part of the artifact: a version published unsigned and again signed keeps
 * its digest and gains the signature.
 */
export async function publish(
  store: ArtifactStore,
  outputs: TrainingOutputs,
  report: EvaluationReport,
  images: ImageSettings = {},
  signer?: ModelSigner,
): Promise<PushedArtifact> {
  const contract = join(outputs.directory, 'contract.json');
  await writeFile(contract, `${JSON.stringify(report.candidate.contract, null, 2)}\n`);
  const file = (name: keyof typeof MEDIA_TYPES, path: string) => ({ name, mediaType: MEDIA_TYPES[name], path });
  const files = [
    file('model.onnx', outputs.model),
    file('metrics.json', outputs.metrics),
    file('contract.json', contract),
    file('golden.json', outputs.golden),
    file('reference-stats.json', outputs.reference),
  ];
  const artifact = await store.push({
    name: report.model,
    tag: report.version.version,
    files,
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
  const packages =
    images.modelcar || images.image
      ? await publishImages(store, outputs, report, artifact, contract, images)
      : undefined;
  if (signer) {
    const signed = await Promise.all(
      files.map(async (entry) => ({ name: entry.name, sha256: await sha256File(entry.path) })),
    );
    const now = new Date().toISOString();
    const bundle = Buffer.from(await signer.sign(report.model, signed));
    await writeFile(join(outputs.directory, SIGNATURE_FILE), bundle);
    const attachment = (bytes: Buffer, predicateType: string): Attachment => ({
      artifactType: SIGNATURE_MEDIA_TYPE,
      mediaType: SIGNATURE_MEDIA_TYPE,
      bytes,
      annotations: { 'org.opencontainers.image.created': now, [PREDICATE_ANNOTATION]: predicateType },
    });
    for (const pushed of [artifact, packages?.modelcar, packages?.image])
      if (pushed) await store.attach(pushed.reference, attachment(bundle, OMS_PREDICATE_TYPE));
    // What built it, signed by the same key: the app checks it names the release's commit.
    const provenance = buildProvenance(
      report.model,
      artifact.digest,
      { ...report, version: report.version.version },
      now,
    );
    await store.attach(
      artifact.reference,
      attachment(Buffer.from(await signer.attest(provenance)), SLSA_PROVENANCE_V1),
    );
  }
  return { ...artifact, ...(packages && { packages }) };
}

/** `artifacts.modelcar` and `artifacts.image` of the config: the base of each image to push. */
export interface ImageSettings {
  modelcar?: { base: string } | undefined;
  image?: { base: string } | undefined;
}

/**
 * The release's container images, next to its artifact: a KServe modelcar (a minimal base plus
 * the model at /models/model.onnx, which KServe's `oci://` storage mounts) and a self-contained
 * serving image (the serving image plus the same layer, which `edgeship serve` finds when
 * EDGESHIP_MODEL is not set). The layer is built reproducibly, and the images are dated by the
 * release, so publishing the same release again gives the same digests. /models holds the
 * artifact's five files, so the artifact's signature (attached to each image too) covers all of
 * it but edgeship.json.
 */
async function publishImages(
  store: ArtifactStore,
  outputs: TrainingOutputs,
  report: EvaluationReport,
  artifact: PushedArtifact,
  contract: string,
  images: ImageSettings,
): Promise<NonNullable<PushedArtifact['packages']>> {
  const pushImage = store.pushImage?.bind(store);
  if (!pushImage)
    throw new ArtifactError(
      'artifacts.modelcar / artifacts.image: container images are assembled on a registry; set artifacts.repository to registry/namespace (found a local OCI layout)',
    );
  const files: { path: string; bytes: Uint8Array }[] = await Promise.all(
    (
      [
        ['models/model.onnx', outputs.model],
        ['models/contract.json', contract],
        ['models/metrics.json', outputs.metrics],
        ['models/golden.json', outputs.golden],
        ['models/reference-stats.json', outputs.reference],
      ] as const
    ).map(async ([path, source]) => ({ path, bytes: await readFile(source) })),
  );
  // What the image holds, for `edgeship serve` to name the model it finds there.
  const about = Buffer.from(
    `${JSON.stringify({ model: report.model, version: report.version.version, artifact: artifact.reference }, null, 2)}\n`,
  );
  files.push({ path: IMAGE_MODEL_FILE, bytes: about });
  const labels = {
    'org.opencontainers.image.title': report.model,
    'org.opencontainers.image.version': report.version.version,
    'io.edgeship.artifact': artifact.reference,
    ...(report.provenance.commit && { 'org.opencontainers.image.revision': report.provenance.commit }),
  };
  const push = (kind: 'modelcar' | 'image', base: string) =>
    pushImage({
      name: report.model,
      tag: `${report.version.version}-${kind === 'modelcar' ? 'modelcar' : 'serving'}`,
      base,
      files,
      created: createdOf(report),
      labels,
      createdBy: `edgeship publish: ${report.model} ${report.version.version} at /models`,
    });
  return {
    ...(images.modelcar && { modelcar: await push('modelcar', images.modelcar.base) }),
    ...(images.image && { image: await push('image', images.image.base) }),
  };
}

/** The release's time in RFC 3339, or the epoch when training did not say. */
function createdOf(report: EvaluationReport): string {
  const time = Date.parse(report.provenance.trainedAt);
  return new Date(Number.isNaN(time) ? 0 : time).toISOString();
}

export const REPORT_MEDIA_TYPE = 'application/vnd.edgeship.report.v1+json';

/**
 * Stores the evaluation report of a cluster run as an OCI artifact in the model's repository,
 * under the tag the app reads it from (`report-<run key>`); the model artifact must be in it.
 */
export async function publishReport(
  store: ArtifactStore,
  report: EvaluationReport,
  key: string,
  directory: string,
): Promise<PushedArtifact> {
  const path = join(directory, 'report.json');
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return store.push({
    name: report.model,
    tag: reportTag(key),
    files: [{ name: 'report.json', mediaType: REPORT_MEDIA_TYPE, path }],
    config: {
      model: report.model,
      version: report.version.version,
      runKey: key,
      ...(report.artifact && { artifact: report.artifact.reference }),
    },
  });
}
