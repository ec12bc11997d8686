import type { SigningTrust } from '../core/signing-trust.ts';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { artifactStoreForReference } from '../adapters/oci/index.ts';
import { LAYOUT_PREFIX, parseReference } from '../adapters/oci/reference.ts';
import { InferenceWorker } from '../adapters/onnx/inference-pool.ts';
import { attachedBundles, bundleFile, type FoundBundle, verifyModelAt } from '../adapters/signing/model-files.ts';
import { SIGNATURE_FILE, SIGNATURE_MEDIA_TYPE } from '../core/artifact.ts';
import type { ReferenceStats } from '../core/drift.ts';
import type { ModelContract } from '../core/contract.ts';
import { ModelValidationError, UsageError } from '../core/errors.ts';
import type { CheckedTensor, OutputTensor } from '../core/oip.ts';
import { readReferenceStatsFile } from '../services/output-files.ts';

/** The file beside an image's model that names it (publish.ts IMAGE_MODEL_FILE): not part of the artifact, so not signed. */
const IMAGE_MODEL_NAME = 'edgeship.json';

/** What runs the model: InferenceWorker, a worker thread with an ONNX Runtime session. */
export interface ModelRunner {
  readonly contract: Pick<ModelContract, 'inputs' | 'outputs'>;
  /** Whether requests share runs (rows a batch may hold, 0 when each runs alone) and why, as proven at load. */
  readonly batching?: { rows: number; why: string };
  /** How long the oldest request waiting or running has been in it, in ms (0 when none is). */
  oldestMs?(): number;
  run(inputs: CheckedTensor[], outputs?: string[]): Promise<OutputTensor[]>;
  /** Waits for the runs in flight, then stops. */
  close(): Promise<void>;
}

/** A model being served: its name and version, what runs it, and the training reference. */
export interface LoadedModel {
  name: string;
  version: string;
  /** Digest of the artifact, when it came from one. */
  digest?: string;
  worker: ModelRunner;
  reference?: ReferenceStats;
  /** Removes what loading wrote (a pulled artifact). */
  cleanup: () => Promise<void>;
}

export interface ModelSource {
  /** An OCI reference pinned by digest (pulled and verified) or a path to model.onnx. */
  model: string;
  name?: string;
  version?: string;
  threads?: number;
  /** Rows a dynamic batch may hold; 0 runs each request on its own. */
  maxBatchRows?: number;
  /** How fast a batch size must have run to run on the main thread; 0 loads the model on the inference thread only. */
  inlineMaxMs?: number;
  /**
   * Registry hosts that get EDGESHIP_REGISTRY_USERNAME/PASSWORD: those of the models the server
   * was started with and EDGESHIP_REGISTRY_HOSTS. A model on any other registry is pulled without
   * them, so a load naming an attacker's registry learns nothing.
   */
  credentialHosts?: readonly string[];
  /** The operator's registry credentials (EDGESHIP_REGISTRY_USERNAME/PASSWORD), sent only to `credentialHosts`. */
  credentials?: { username: string; password: string };
  /**
   * Who the model must be signed by (EDGESHIP_TRUSTED_KEYS, EDGESHIP_TRUSTED_IDENTITIES): its
   * files are checked against its signature before ONNX Runtime opens it, and a model without one is refused.
   */
  trust?: SigningTrust;
  /**
   * For a model in the pod's filesystem (a modelcar or serving image's /models), the artifact it
   * was published as (EDGESHIP_MODEL_ARTIFACT, pinned by digest): with `trust`, every file of its
   * directory but edgeship.json is verified against the signatures attached to that artifact.
   */
  signedAs?: string;
}

/**
 * Refuses a model whose files are not as a trusted key signed them: `files` (a directory, or the
 * one file) against the bundles found for it. A SignatureError says which file or key.
 */
async function checkSignature(
  model: string,
  files: string,
  bundles: readonly FoundBundle[],
  trust: SigningTrust,
  ignored?: string,
) {
  const where = files === model ? `no ${SIGNATURE_FILE} beside it` : 'none attached to the artifact';
  // An image's own model (edgeship.json beside it) is checked against the artifact it was published as.
  const image =
    files === model && existsSync(join(dirname(model), IMAGE_MODEL_NAME))
      ? "; for an image's own model, set EDGESHIP_MODEL_ARTIFACT to the artifact it was published as"
      : '';
  await verifyModelAt(
    files,
    bundles,
    trust,
    `${model}: no signature (${where}), and this server loads only signed models (EDGESHIP_TRUSTED_KEYS, EDGESHIP_TRUSTED_IDENTITIES)${image}`,
    ignored,
  );
}

/** The signatures attached to a pinned artifact reference, read with the credentials its registry may get. */
async function attachedSignatures(source: ModelSource, reference: string): Promise<FoundBundle[]> {
  if (!isReference(reference))
    throw new UsageError(
      `EDGESHIP_MODEL_ARTIFACT: expected an artifact reference pinned by digest, found ${JSON.stringify(reference)}`,
    );
  const credentials = source.credentialHosts?.includes(registryOf(reference) ?? '') ? source.credentials : undefined;
  const store = artifactStoreForReference(reference, credentials ? { credentials } : {});
  return attachedBundles(reference, await store.attached(reference, SIGNATURE_MEDIA_TYPE));
}

const workerOptions = (source: ModelSource) => ({
  ...(source.threads && { threads: source.threads }),
  ...(source.maxBatchRows !== undefined && { maxBatchRows: source.maxBatchRows }),
  ...(source.inlineMaxMs !== undefined && { inlineMaxMs: source.inlineMaxMs }),
});
const isReference = (model: string) => /@sha256:[a-f0-9]{64}$/.test(model) || model.startsWith('oci-layout:');

/**
 * Loads what `edgeship serve` runs: an artifact is pulled (every digest verified) into a temp
 * directory; a file is used in place, with reference-stats.json beside it when there is one.
 */
export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  if (!isReference(source.model)) {
    if (source.trust && source.signedAs)
      await checkSignature(
        source.model,
        dirname(source.model),
        await attachedSignatures(source, source.signedAs),
        source.trust,
        IMAGE_MODEL_NAME,
      );
    else if (source.trust)
      await checkSignature(
        source.model,
        source.model,
        await bundleFile(join(dirname(source.model), SIGNATURE_FILE)),
        source.trust,
      );
    const reference = await readReference(join(dirname(source.model), 'reference-stats.json'), false);
    const worker = await InferenceWorker.open(source.model, workerOptions(source));
    return {
      name: source.name ?? basename(source.model).replace(/\.onnx$/, ''),
      version: source.version ?? '0',
      worker,
      ...(reference && { reference }),
      cleanup: async () => undefined,
    };
  }
  const scratch = await mkdtemp(join(tmpdir(), 'edgeship-serve-'));
  try {
    const credentials = source.credentialHosts?.includes(registryOf(source.model) ?? '')
      ? source.credentials
      : undefined;
    const store = artifactStoreForReference(source.model, credentials ? { credentials } : {});
    const pulled = await store.pull(source.model, join(scratch, 'artifact'));
    const modelFile = pulled.files['model.onnx'];
    if (!modelFile) throw new ModelValidationError(`${source.model} has no model.onnx`);
    if (source.trust)
      await checkSignature(
        source.model,
        dirname(modelFile),
        attachedBundles(source.model, await store.attached(source.model, SIGNATURE_MEDIA_TYPE)),
        source.trust,
      );
    const config = (pulled.config ?? {}) as { model?: string; version?: string };
    const reference = pulled.files['reference-stats.json']
      ? await readReference(pulled.files['reference-stats.json'], true)
      : undefined;
    const worker = await InferenceWorker.open(modelFile, workerOptions(source));
    return {
      name: source.name ?? config.model ?? 'model',
      version: source.version ?? config.version ?? '0',
      digest: pulled.digest,
      worker,
      ...(reference && { reference }),
      cleanup: () => rm(scratch, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

/** The registry host of a reference (`registry.local:5000` of `registry.local:5000/models/pump@sha256:…`); none for a layout or a file. */
export function registryOf(reference: string): string | undefined {
  if (!isReference(reference) || reference.startsWith(LAYOUT_PREFIX)) return undefined;
  const parsed = parseReference(reference);
  return parsed.kind === 'registry' ? parsed.registry : undefined;
}

/** reference-stats.json, when there is one (`required`: the artifact lists it). */
async function readReference(file: string, required: boolean): Promise<ReferenceStats | undefined> {
  if (!required && !existsSync(file)) return undefined;
  return readReferenceStatsFile(file);
}
