import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';

export const HUMAN = { config: ['user.name=Human', 'user.email=human@example.com'] };

/**
 * A bare GitOps repo `<name>.git` in `root` with one commit on main (README.md, by Human), and
 * `<name>-seed`, a clone of it where a person commits and pushes.
 */
export async function gitopsRemote(root: string, name = 'gitops'): Promise<{ bare: string; seed: string }> {
  const bare = join(root, `${name}.git`);
  const seed = join(root, `${name}-seed`);
  await simpleGit().init(['--bare', '--initial-branch=main', bare]);
  await simpleGit().clone(bare, seed);
  await writeFile(join(seed, 'README.md'), '# GitOps\n');
  await simpleGit(seed, HUMAN).add('.').commit('seed').push('origin', 'HEAD:main');
  return { bare, seed };
}
