import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simpleGit } from 'simple-git';
import { LocalProcessBackend, readTrainedFrom } from '../../../src/adapters/training/local-process.ts';
import { TrainingError } from '../../../src/core/errors.ts';
import { useTempDirs } from '../../helpers/temp.ts';

describe('LocalProcessBackend', () => {
  const tempDir = useTempDirs();
  const backend = new LocalProcessBackend(process.env);

  it('streams output lines and returns the output paths', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    const command =
      'mkdir -p out && for f in model.onnx metrics.json golden.json reference-stats.json; do echo "wrote $f"; touch out/$f; done';
    const outputs = await backend.train({ directory: dir, command, outputs: 'out', env: { EXTRA: '1' } }, (line) =>
      lines.push(line),
    );
    expect(lines).toEqual([
      'wrote model.onnx',
      'wrote metrics.json',
      'wrote golden.json',
      'wrote reference-stats.json',
    ]);
    expect(outputs).toEqual({
      directory: join(dir, 'out'),
      model: join(dir, 'out/model.onnx'),
      metrics: join(dir, 'out/metrics.json'),
      golden: join(dir, 'out/golden.json'),
      reference: join(dir, 'out/reference-stats.json'),
    });
  });

  it('records the commit it trained beside the outputs, so a later evaluate names that commit', async () => {
    const dir = await tempDir();
    const git = simpleGit(dir);
    await git.init(['--initial-branch=main']);
    await writeFile(
      join(dir, 'train.sh'),
      'mkdir -p out && touch out/model.onnx out/metrics.json out/golden.json out/reference-stats.json\n',
    );
    await git.add('.').raw(['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'train']);
    const trained = (await git.revparse(['HEAD'])).trim();
    const outputs = await backend.train({ directory: dir, command: 'sh train.sh', outputs: 'out' }, () => undefined);
    // A commit after training does not change what was trained.
    await git.raw([
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'later',
    ]);
    expect(await readTrainedFrom(outputs.directory)).toMatchObject({
      commit: trained,
      branch: 'main',
      trainedAt: expect.stringMatching(/^\d{4}-/) as string,
    });
    expect(await readTrainedFrom(await tempDir())).toEqual({});
  });

  it('passes the environment to the command', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    await backend
      .train(
        {
          directory: dir,
          command: 'echo "python is $PYTHON"; exit 3',
          outputs: 'out',
          env: { PYTHON: '/usr/bin/python3' },
        },
        (line) => lines.push(line),
      )
      .catch(() => undefined);
    expect(lines).toEqual(['python is /usr/bin/python3']);
  });

  it('fails with the exit code and the last lines of output', async () => {
    const dir = await tempDir();
    const error = await backend
      .train(
        { directory: dir, command: 'echo starting; echo "CUDA out of memory" >&2; exit 7', outputs: 'out' },
        () => undefined,
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as Error).message).toMatch(/exited with 7; its last output:\nstarting\nCUDA out of memory/);
  });

  it('names the outputs training did not write', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'out'));
    await writeFile(join(dir, 'out', 'model.onnx'), '');
    await expect(backend.train({ directory: dir, command: 'true', outputs: 'out' }, () => undefined)).rejects.toThrow(
      `training did not write ${join(dir, 'out/metrics.json')}, ${join(dir, 'out/golden.json')}, ${join(dir, 'out/reference-stats.json')}`,
    );
  });
});
