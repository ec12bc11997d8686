import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256 } from './manifest.ts';

/** A file of an image layer: its path in the image (relative, `/` separated) and its bytes. */
export interface LayerFile {
  path: string;
  bytes: Uint8Array;
}

export interface ImageLayer {
  /** The gzip-compressed tar: the blob a manifest lists. */
  blob: Buffer;
  /** sha256 of the blob. */
  digest: string;
  /** sha256 of the uncompressed tar: the image config's rootfs.diff_ids entry. */
  diffId: string;
}

/** Every entry the same: a layer's digest depends on the files alone, never on when or by whom it was built. */
const FIXED = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };

/**
 * A reproducible image layer holding `files`: entries in path order, each parent directory
 * once before its files, fixed times, owner and modes (0755 directories, 0644 files), gzip with
 * no name or time in its header. The same files give the same digest on any machine.
 */
export async function imageLayer(files: readonly LayerFile[]): Promise<ImageLayer> {
  for (const file of files) {
    if (
      !/^[\w.-]+(\/[\w.-]+)*$/.test(file.path) ||
      file.path.split('/').some((segment) => segment === '.' || segment === '..')
    )
      throw new Error(`layer path "${file.path}": expected a relative path of plain segments`);
  }
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const directories = [
    ...new Set(
      sorted.flatMap((file) =>
        file.path
          .split('/')
          .slice(0, -1)
          .map((_, index, parts) => parts.slice(0, index + 1).join('/')),
      ),
    ),
  ].sort();
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(Buffer.from(chunk as Uint8Array)));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const directory of directories) tar.entry({ ...FIXED, name: `${directory}/`, type: 'directory', mode: 0o755 });
  for (const file of sorted)
    tar.entry({ ...FIXED, name: file.path, type: 'file', mode: 0o644 }, Buffer.from(file.bytes));
  tar.finalize();
  await ended;
  const bytes = Buffer.concat(chunks);
  const blob = gzipSync(bytes, { level: 9 });
  return { blob, digest: sha256(blob), diffId: sha256(bytes) };
}
