import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';

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

  /**
   * A blob as text, by any name git takes: a blob id, or `<revision>:<path>` (which makes git
   * walk the trees from the root again for each read: slow in a tree of thousands of entries).
   */
  read(name: string): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${name}\n`);
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

/** Blob ids by path: the whole tree of a commit. */
export type TreeIndex = ReadonlyMap<string, string>;

/**
 * Every file of a commit with its blob id, from one `git ls-tree -r`: tens of milliseconds for a
 * fleet of 10,000 sites, after which a read by blob id costs git no tree walk. Submodules and
 * symlinks are left out: the GitOps repo's files are blobs.
 */
export async function treeIndex(directory: string, revision: string): Promise<TreeIndex> {
  const { stdout } = await promisify(execFile)('git', ['ls-tree', '-r', '-z', '--full-tree', revision], {
    cwd: directory,
    maxBuffer: 2 ** 30,
    encoding: 'buffer',
  });
  const index = new Map<string, string>();
  let start = 0;
  for (let end = stdout.indexOf(0, start); end !== -1; start = end + 1, end = stdout.indexOf(0, start)) {
    // `<mode> SP <type> SP <id> TAB <path>`
    const entry = stdout.toString('utf8', start, end);
    const tab = entry.indexOf('\t');
    const [mode, type, id] = entry.slice(0, tab).split(' ');
    if (type === 'blob' && mode !== '120000' && id) index.set(entry.slice(tab + 1), id);
  }
  return index;
}
