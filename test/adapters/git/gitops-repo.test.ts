import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { describe, expect, it } from 'vitest';
import { GitRemoteRepo, pushRefusal } from '../../../src/adapters/git/gitops-repo.ts';
import { GitOpsError } from '../../../src/core/errors.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const IDENTITY = { config: ['user.name=Human', 'user.email=human@example.com'] };

/** A bare remote with one commit on main, and a way for "someone else" to commit to it. */
async function remote(root: string) {
  const seed = join(root, 'seed');
  const bare = join(root, 'gitops.git');
  const git = simpleGit(IDENTITY);
  await git.init(['--initial-branch=main', seed]);
  await writeFile(join(seed, 'README.md'), '# GitOps\n');
  await simpleGit(seed, IDENTITY).add('.').commit('seed');
  await git.clone(seed, bare, ['--bare']);
  const log = async () =>
    (await simpleGit(IDENTITY).raw(['--git-dir', bare, 'log', '--format=%an|%s', 'main'])).trim().split('\n');
  const show = (path: string) => simpleGit().raw(['--git-dir', bare, 'show', `main:${path}`]);
  return { bare, log, show };
}

describe('GitRemoteRepo', () => {
  const tempDir = useTempDirs();

  it('commits a change as the bot and reads it back', async () => {
    const root = await tempDir();
    const { bare, log, show } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    expect(await repo.read('models/pump/release.yaml')).toBeUndefined();
    const commit = await repo.apply(
      async () => [{ path: 'models/pump/release.yaml', content: 'version: 1.0.0\n' }],
      'release(pump): 1.0.0',
    );
    expect(commit?.files).toEqual(['models/pump/release.yaml']);
    expect(await show('models/pump/release.yaml')).toBe('version: 1.0.0\n');
    expect(await log()).toEqual(['edgeship[bot]|release(pump): 1.0.0', 'Human|seed']);
  });

  it('makes no commit when nothing changes', async () => {
    const root = await tempDir();
    const { bare, log } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    const change = async () => [{ path: 'a.yaml', content: 'x: 1\n' }];
    expect(await repo.apply(change, 'first')).toBeDefined();
    expect(await repo.apply(change, 'again')).toBeUndefined();
    expect(await log()).toHaveLength(2);
  });

  it('re-reads and re-applies when someone else pushed first, without force', async () => {
    const root = await tempDir();
    const { bare, log, show } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    await repo.apply(async () => [{ path: 'list.txt', content: 'a\n' }], 'a');
    const human = join(root, 'human');
    let raced = false;
    const change = async (read: (path: string) => Promise<string | undefined>) => {
      const current = (await read('list.txt')) ?? '';
      if (!raced) {
        // Another writer lands a commit between our read and our push.
        raced = true;
        await simpleGit(IDENTITY).clone(bare, human);
        await writeFile(join(human, 'list.txt'), `${await readFile(join(human, 'list.txt'), 'utf8')}human\n`);
        await simpleGit(human, IDENTITY).add('.').commit('human').push('origin', 'main');
      }
      return [{ path: 'list.txt', content: `${current}bot\n` }];
    };
    expect(await repo.apply(change, 'bot')).toBeDefined();
    expect(await show('list.txt')).toBe('a\nhuman\nbot\n');
    expect(await log()).toEqual(['edgeship[bot]|bot', 'Human|human', 'edgeship[bot]|a', 'Human|seed']);
  });

  it('finds unchanged files by blob id in SHA-1 and SHA-256 repositories alike: a repeat commits nothing', async () => {
    for (const format of ['sha1', 'sha256']) {
      const root = await tempDir();
      const seed = join(root, 'seed');
      const bare = join(root, 'gitops.git');
      await simpleGit().init(['--initial-branch=main', `--object-format=${format}`, seed]);
      await writeFile(join(seed, 'README.md'), '# GitOps\n');
      await simpleGit(seed, IDENTITY).add('.').commit('seed');
      await simpleGit().clone(seed, bare, ['--bare']);
      const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
      const files = [
        { path: 'sites/a/k.yaml', content: 'resources: [pump] # ü\n' },
        { path: 'README.md', content: '# GitOps\n' },
      ];
      expect((await repo.apply(async () => files, 'first'))?.files, format).toEqual(['sites/a/k.yaml']);
      expect(await repo.apply(async () => files, 'again'), format).toBeUndefined();
    }
  });

  it("lands eight concurrent writers to one branch, each on the others' commits, with jittered retries", async () => {
    const root = await tempDir();
    const { bare, log, show } = await remote(root);
    // Eight replicas or processes, each with its own clone, each appending its line to one file.
    const writers = Array.from(
      { length: 8 },
      (_, index) => new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, `work-${index}`) }),
    );
    const results = await Promise.all(
      writers.map((repo, index) =>
        repo.apply(
          async (read) => [{ path: 'list.txt', content: `${(await read('list.txt')) ?? ''}writer ${index}\n` }],
          `writer ${index}`,
        ),
      ),
    );
    expect(results.every((result) => result !== undefined)).toBe(true);
    expect((await show('list.txt')).trim().split('\n').sort()).toEqual(
      Array.from({ length: 8 }, (_, index) => `writer ${index}`),
    );
    expect(await log()).toHaveLength(9);
  });

  it('reads what the head has after each commit: the tree index follows the head', async () => {
    const root = await tempDir();
    const { bare } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    const other = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'other') });
    await repo.apply(async () => [{ path: 'sites/a/k.yaml', content: 'one\n' }], 'one');
    expect(await repo.read('sites/a/k.yaml')).toBe('one\n');
    await other.apply(
      async () => [
        { path: 'sites/a/k.yaml', content: 'two\n' },
        { path: 'sites/b/k.yaml', content: 'b\n' },
      ],
      'two',
    );
    expect(await repo.read('sites/a/k.yaml')).toBe('two\n');
    expect(await repo.read('sites/b/k.yaml')).toBe('b\n');
    expect(await repo.read('sites/a')).toBeUndefined();
  });

  it('writes and reads many files in one commit, byte for byte: several lines, UTF-8, spaces in names', async () => {
    const root = await tempDir();
    const { bare, log, show } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    const files = Array.from({ length: 300 }, (_, index) => ({
      path: `sites/site ${index}/kustomization.yaml`,
      content: `# Zürich ${index} — ü\nname: site-${index}\n\n`,
    }));
    const commit = await repo.apply(async () => files, 'release(pump): 300 sites');
    expect(commit?.files).toHaveLength(300);
    expect(await show('sites/site 7/kustomization.yaml')).toBe(files[7]?.content);
    // Read back concurrently through one reader, a directory reading as absent.
    const again = await repo.apply(async (read) => {
      const texts = await Promise.all(files.map((file) => read(file.path)));
      expect(texts).toEqual(files.map((file) => file.content));
      expect(await read('sites/site 7')).toBeUndefined();
      return files;
    }, 'nothing new');
    expect(again).toBeUndefined();
    expect(await log()).toEqual(['edgeship[bot]|release(pump): 300 sites', 'Human|seed']);
  });

  it('reads a file at a commit Argo CD names, and nothing for a revision that is not a commit id', async () => {
    const root = await tempDir();
    const { bare } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    const commit = await repo.apply(async () => [{ path: 'a.yaml', content: 'x: 1\n' }], 'a');
    expect(await repo.readAt('a.yaml', commit?.sha ?? '')).toBe('x: 1\n');
    const planted = join(root, 'planted');
    expect(await repo.readAt('a.yaml', `--output=${planted}`)).toBeUndefined();
    expect(await repo.readAt('a.yaml', 'main~1')).toBeUndefined();
    expect((await readdir(root)).filter((name) => name.startsWith('planted'))).toEqual([]);
  });

  it('refuses paths outside the repo', async () => {
    const root = await tempDir();
    const { bare } = await remote(root);
    const repo = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') });
    for (const path of ['../escape.yaml', '/etc/passwd', 'sites/./x.yaml', 'sites//x.yaml', 'a\nM 100644 inline b']) {
      await expect(repo.apply(async () => [{ path, content: 'x' }], 'x')).rejects.toThrow(
        `"${path}" is outside the GitOps repo`,
      );
    }
  });

  it('says why a push was refused, with the fix, and does not retry what will not change: a non-bare GitOps repo', async () => {
    const root = await tempDir();
    const { bare } = await remote(root);
    const working = join(root, 'working-copy');
    await simpleGit(IDENTITY).clone(bare, working);
    const repo = new GitRemoteRepo({ remote: working, branch: 'main', workdir: join(root, 'work') });
    let calls = 0;
    const error = await repo
      .apply(async () => {
        calls += 1;
        return [{ path: 'models/pump/release.yaml', content: 'version: 1.0.0\n' }];
      }, 'release')
      .catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as Error).message).toBe(
      `cannot push to ${working} (main): [remote rejected] (branch is currently checked out) (the GitOps repo must be a bare repository, e.g. git clone --bare <dir> <dir>.git, or a hosted remote: a push cannot update the branch checked out in a working copy)`,
    );
    expect(calls).toBe(1);
    // Nothing half-done stays in the local clone: the next change starts from the remote's head.
    expect(await repo.read('models/pump/release.yaml')).toBeUndefined();
  });

  it.each([
    [
      'someone pushed first',
      " ! [rejected]        HEAD -> main (fetch first)\nerror: failed to push some refs to 'x'",
      true,
    ],
    ['a racing push to a local remote', ' ! [remote rejected] HEAD -> main (failed to update ref)', true],
    ['someone pushed first (porcelain)', 'To x\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone', true],
    [
      'a hook refused it',
      'remote: error: GH006: Protected branch update failed for refs/heads/main.\n ! [remote rejected] HEAD -> main (protected branch hook declined)',
      false,
    ],
  ])('tells a conflict (%s) from a refusal', (_case, output, conflict) => {
    expect(pushRefusal(output).conflict).toBe(conflict);
    expect(pushRefusal(output).reason).toMatch(/^\[(remote )?rejected\] \(/);
  });

  it("names the hook's reason when a remote refuses", () => {
    expect(
      pushRefusal(
        'remote: error: GH006: Protected branch update failed for refs/heads/main.\n ! [remote rejected] HEAD -> main (protected branch hook declined)',
      ).reason,
    ).toBe(
      '[remote rejected] (protected branch hook declined); error: GH006: Protected branch update failed for refs/heads/main.',
    );
  });

  it('names the remote it cannot read', async () => {
    const root = await tempDir();
    const repo = new GitRemoteRepo({ remote: join(root, 'missing.git'), branch: 'main', workdir: join(root, 'work') });
    await expect(repo.read('x')).rejects.toThrow(GitOpsError);
    await expect(repo.read('x')).rejects.toThrow(/cannot read the GitOps repo .*missing\.git \(branch main\)/);
  });
});
