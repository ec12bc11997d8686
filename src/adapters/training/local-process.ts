import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TrainingError } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';
import { gitProvenance } from '../git/provenance.ts';
import type { TrainingBackend, TrainingOutputs, TrainingRequest } from '../../ports.ts';

/** Files every training run must write into its outputs directory. */
export const TRAINING_OUTPUTS = {
  model: 'model.onnx',
  metrics: 'metrics.json',
  golden: 'golden.json',
  reference: 'reference-stats.json',
} as const;

/** Runs the training command in a shell on this machine (the local loop and CI runners). */
export class LocalProcessBackend implements TrainingBackend {
  /** `environment`: what the command inherits (the front end's own), under the request's variables. */
  constructor(private readonly environment: Readonly<Record<string, string | undefined>>) {}

  async train(request: TrainingRequest, onOutput: (line: string) => void): Promise<TrainingOutputs> {
    // The commit trained, taken before training starts: a later evaluate names it, not whatever is checked out then.
    const trainedFrom = { ...(await gitProvenance(request.directory)), trainedAt: new Date().toISOString() };
    const tail: string[] = [];
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn('sh', ['-c', request.command], {
        cwd: request.directory,
        env: { ...this.environment, ...request.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          onOutput(line);
        });
      }
      child.on('error', (error) =>
        fail(new TrainingError(`cannot start the training command: ${error.message}`, { cause: error })),
      );
      child.on('close', done);
    });
    if (code !== 0) {
      throw new TrainingError(
        `the training command \`${request.command}\` exited with ${code ?? 'a signal'}; its last output:\n${tail.join('\n')}`,
      );
    }
    const outputs = await collectOutputs(resolve(request.directory, request.outputs));
    await writeFile(join(outputs.directory, TRAINED_FROM), `${JSON.stringify(trainedFrom, null, 2)}\n`);
    return outputs;
  }
}

/** Written beside the outputs by a local training: the commit and branch trained, and when. */
export const TRAINED_FROM = 'trained-from.json';

/** What `trained-from.json` in `directory` says, when a local training wrote it. */
export async function readTrainedFrom(
  directory: string,
): Promise<{ commit?: string; branch?: string; trainedAt?: string }> {
  const text = await readFile(join(directory, TRAINED_FROM), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  const parsed = (parseJson(
    text,
    (issues) => new TrainingError(`${join(directory, TRAINED_FROM)}: ${issues.join('; ')}`),
    '{"commit", "branch", "trainedAt"}',
  ) ?? {}) as Record<string, unknown>;
  const field = (key: string) =>
    typeof parsed[key] === 'string' && /^[\w./:+-]{1,200}$/.test(parsed[key]) ? { [key]: parsed[key] } : {};
  return { ...field('commit'), ...field('branch'), ...field('trainedAt') };
}

/** The outputs in `directory`, or a TrainingError listing the missing files. */
export async function collectOutputs(directory: string): Promise<TrainingOutputs> {
  const entries = Object.entries(TRAINING_OUTPUTS).map(([key, name]) => [key, join(directory, name)] as const);
  const missing = [];
  for (const [, path] of entries)
    if (
      !(await access(path).then(
        () => true,
        () => false,
      ))
    )
      missing.push(path);
  if (missing.length > 0) throw new TrainingError(`training did not write ${missing.join(', ')}`);
  return { directory, ...(Object.fromEntries(entries) as Omit<TrainingOutputs, 'directory'>) };
}
