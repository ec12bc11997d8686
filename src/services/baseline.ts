import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EdgeshipConfig } from '../core/config.ts';
import { modelContractSchema } from '../core/contract.ts';
import { ArtifactError } from '../core/errors.ts';
import { parseMetrics } from '../core/metrics.ts';
import { parseJsonWith } from '../core/parse-json.ts';
import { sha256File } from './file-hash.ts';
import { historyOf, parseReleaseRecord, releaseRecordPath } from '../core/release-record.ts';
import type { Baseline } from '../core/report-schema.ts';
import type { ArtifactStore, GitOpsRepo } from '../ports.ts';

export interface BaselineDeps {
  gitops: GitOpsRepo;
  /** The store that can pull the deployed artifact's reference. */
  storeFor: (reference: string) => ArtifactStore;
}

/**
 * The release currently deployed: the GitOps repo's record says which artifact, and the
 * artifact (pulled and verified by digest) holds its metrics and contract.
 */
export async function resolveBaseline(deps: BaselineDeps, config: EdgeshipConfig): Promise<Baseline | undefined> {
  const path = releaseRecordPath(config.gitops.path, config.model);
  const text = await deps.gitops.read(path);
  if (text === undefined) return undefined;
  const record = parseReleaseRecord(text, path);
  const scratch = await mkdtemp(join(tmpdir(), 'edgeship-baseline-'));
  try {
    const pulled = await deps
      .storeFor(record.artifact.reference)
      .pull(record.artifact.reference, join(scratch, 'artifact'));
    if (pulled.digest !== record.artifact.digest) {
      throw new ArtifactError(
        `${path}: artifact.reference resolves to ${pulled.digest}, but artifact.digest says ${record.artifact.digest}`,
      );
    }
    const read = (name: string) => {
      const file = pulled.files[name];
      if (!file) throw new ArtifactError(`the deployed artifact ${record.artifact.reference} has no ${name}`);
      return readFile(file, 'utf8');
    };
    return {
      version: record.version,
      reference: record.artifact.reference,
      digest: record.artifact.digest,
      metrics: parseMetrics(
        await read('metrics.json'),
        config.metrics.primary,
        `${record.artifact.reference} metrics.json`,
      ),
      contract: parseJsonWith(
        modelContractSchema,
        await read('contract.json'),
        (issues) => new ArtifactError(`${record.artifact.reference} contract.json: ${issues.join('; ')}`),
        'model contract',
      ),
      placements: Object.fromEntries(Object.entries(record.targets).map(([name, target]) => [name, target.placement])),
      history: historyOf(record, config.metrics.primary),
      ...(pulled.files['model.onnx'] && { modelSha256: await sha256File(pulled.files['model.onnx']) }),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
