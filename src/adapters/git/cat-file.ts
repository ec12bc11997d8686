import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * Reads blobs from a repository through one `git cat-file --batch`: requests are written as
 * they come and answered in order, so thousands of concurrent reads cost one process, not one
 * each. A name that is missing, or is not a blob, reads as undefined.
 */
export class BlobReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (text: string | undefined) => void; reject: (error: Error) => void }[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;

  constructor(directory: string) {
    this.child = spawn('git', ['cat-file', '--batch'], { cwd: directory });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.answer();
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    };
    this.child.on('error', fail);
    // 'close', not 'exit': by then every answer git wrote has been read.
    this.child.on('close', (code) => fail(new Error(`git cat-file exited (${code ?? 'signal'})`)));
    this.child.stdin.on('error', fail);
  }

  /** The blob `<revision>:<path>` as text. */
  read(revision: string, path: string): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${revision}:${path}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }

  private answer(): void {
    for (;;) {
      const end = this.buffer.indexOf(10);
      if (end === -1) return;
      const header = this.buffer.subarray(0, end).toString('utf8');
      const found = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header);
      if (!found) {
        // `<name> missing` (or ambiguous): one line, no content.
        this.buffer = this.buffer.subarray(end + 1);
        this.waiting.shift()?.resolve(undefined);
        continue;
      }
      const size = Number(found[2]);
      if (this.buffer.length < end + 1 + size + 1) return;
      const content = this.buffer.subarray(end + 1, end + 1 + size);
      this.buffer = this.buffer.subarray(end + 1 + size + 1);
      this.waiting.shift()?.resolve(found[1] === 'blob' ? content.toString('utf8') : undefined);
    }
  }
}
