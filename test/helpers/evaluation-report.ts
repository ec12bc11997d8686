import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { OnnxInspector } from '../../src/adapters/onnx/inspector.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { evaluate } from '../../src/services/evaluate.ts';
import { fakeProfiler, silentProgress } from './fakes.ts';
import { ROOT } from './fixtures.ts';

// No fake GitHub here (nock): tests of clients nock cannot pass through (make-fetch-happen) use it.
const GITOPS_REPO = 'acme/gitops';
export const DIGEST = `sha256:${'d'.repeat(64)}`;

export async function exampleConfigText(): Promise<string> {
  const text = await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8');
  return text.replace('repo: edgeship-demo/gitops', `repo: ${GITOPS_REPO}`);
}

/** What the training workflow's evaluate and publish steps upload: a real report of the example model. */
export async function evaluationReport(): Promise<EvaluationReport> {
  const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
  const report = await evaluate(
    {
      inspector: new OnnxInspector(),
      profiler: fakeProfiler({ 'jetson-xavier-nx': 3, 'jetson-orin-nano': 2, 'cloud-cpu': 1 }),
      progress: silentProgress,
    },
    {
      config,
      outputs: await collectOutputs(inject('exampleOutputs')),
      provenance: { trainedAt: '2026-11-26T07:00:00.000Z' },
    },
  );
  return { ...report, artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${DIGEST}`, digest: DIGEST } };
}
