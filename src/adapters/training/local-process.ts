import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TrainingError } from '../../core/errors.ts';
import type { TrainingBackend, TrainingOutputs, TrainingRequest } from '../../ports.ts';

/** Files every training run must write into its outputs directory. */
export const TRAINING_OUTPUTS = { model: 'model.onnx', metrics: 'metrics.json', golden: 'golden.json', reference: 'reference-stats.json' } as const;

/** Runs the training command in a shell on this machine (the local loop and CI runners). */
export class LocalProcessBackend implements TrainingBackend {
  async train(request: TrainingRequest, onOutput: (line: string) => void): Promise<TrainingOutputs> {
    const tail: string[] = [];
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn('sh', ['-c', request.command], { cwd: request.directory, env: { ...process.env, ...request.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          onOutput(line);
        });
      }
      child.on('error', (error) => fail(new TrainingError(`cannot start the training command: ${error.message}`, { cause: error })));
      child.on('close', done);
    });
    if (code !== 0) {
      throw new TrainingError(`the training command \`${request.command}\` exited with ${code ?? 'a signal'}; its last output:\n${tail.join('\n')}`);
    }
    return collectOutputs(resolve(request.directory, request.outputs));
  }
}

/** The outputs in `directory`, or a TrainingError listing the missing files. */
export async function collectOutputs(directory: string): Promise<TrainingOutputs> {
  const entries = Object.entries(TRAINING_OUTPUTS).map(([key, name]) => [key, join(directory, name)] as const);
  const missing = [];
  for (const [, path] of entries) if (!(await access(path).then(() => true, () => false))) missing.push(path);
  if (missing.length > 0) throw new TrainingError(`training did not write ${missing.join(', ')}`);
  return { directory, ...(Object.fromEntries(entries) as Omit<TrainingOutputs, 'directory'>) };
}
