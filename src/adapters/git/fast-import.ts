import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { FileWrite } from '../../ports.ts';

export interface CommitRequest {
  /** The ref fast-import sets to the new commit (a private one: pushing is up to the caller). */
  ref: string;
  parent: string;
  author: { name: string; email: string };
  message: string;
  files: readonly FileWrite[];
}

/**
 * One commit of `files` on top of `parent`, written by `git fast-import` straight into a pack:
 * no working tree, no loose object per file, no path on a command line, so a release to
 * 10,000 sites (30,000 files) is one process reading one stream. Returns the commit's sha.
 */
export async function commitFiles(directory: string, request: CommitRequest): Promise<string> {
  const child = spawn('git', ['fast-import', '--quiet', '--done', '--force'], { cwd: directory });
  const output: Buffer[] = [];
  const errors: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
  const exited = once(child, 'close') as Promise<[number | null]>;
  // A fast-import that stops early fails by its exit code, not by a broken pipe.
  child.stdin.on('error', () => undefined);
  const write = async (text: string) => {
    if (!child.stdin.write(text)) await Promise.race([once(child.stdin, 'drain'), exited]);
  };
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const { name, email } = request.author;
  await write(
    `commit ${request.ref}\nmark :1\ncommitter ${name} <${email}> ${Math.floor(Date.now() / 1000)} +0000\n${data(request.message)}from ${request.parent}\n`,
  );
  for (const file of request.files) await write(`M 100644 inline ${file.path}\n${data(file.content)}`);
  // The commit's sha, printed on stdout once the commit is written.
  child.stdin.end('get-mark :1\ndone\n');
  const [code] = await exited;
  const sha = /^([0-9a-f]{40,64})$/m.exec(Buffer.concat(output).toString('utf8'))?.[1];
  if (code !== 0 || !sha)
    throw new Error(
      `git fast-import failed (${code ?? 'signal'}): ${Buffer.concat(errors).toString('utf8').trim().split('\n')[0] ?? ''}`,
    );
  return sha;
}
