/**
 * GitOps write throughput: a release across 1,000 and 10,000 targets, planned and written in one
 * commit to a real git repo (aim < 2 s at 1,000; < 15 s and peak RSS < 400 MiB at 10,000), against
 * the floor of the same plumbing: the same files, already rendered, committed with git fast-import
 * and pushed, with nothing read or planned. Then the second time: a release over the fleet the
 * first one left, and a rollout tick there (aims: each within 1.5× the first release's time, peak
 * RSS < 400 MiB).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { simpleGit } from 'simple-git';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { commitFiles } from '../src/adapters/git/fast-import.ts';
import { planGitOpsChange } from '../src/services/apply.ts';
import { GitHubScm } from '../src/adapters/github/scm.ts';
import { ScmBranchRepo } from '../src/services/scm-branch-repo.ts';
import { FakeGitHub } from '../test/helpers/fake-github.ts';
import { testProbot } from '../test/helpers/webhooks.ts';
import { fleet } from '../test/helpers/fleet.ts';
import { gitopsRemote } from '../test/helpers/gitops-remote.ts';
import { rolloutTickBench } from './rollout-tick.ts';
import { sized } from './mode.ts';

const SIZES = sized(
  [
    { targets: 1000, rounds: 3 },
    { targets: 10_000, rounds: 1 },
  ],
  [{ targets: 100, rounds: 1 }],
);
const LARGEST = sized(10_000, 100);

/** A bare GitOps repo with one commit; each side gets its own, so neither finds the other's objects there. */
const remote = async (root: string, name: string) => (await gitopsRemote(root, name)).bare;

/** The floor: the same files, already rendered, committed by the same fast-import and pushed the same way. */
async function floorCommit(root: string, files: { path: string; content: string }[]): Promise<number> {
  const clone = join(root, 'floor');
  await simpleGit().clone(await remote(root, 'floor'), clone, ['--no-checkout']);
  const git = simpleGit(clone);
  const parent = (await git.revparse(['origin/main'])).trim();
  const started = performance.now();
  const sha = await commitFiles(clone, {
    ref: 'refs/heads/floor',
    parent,
    author: { name: 'bench', email: 'bench@edgeship.dev' },
    message: 'floor',
    files,
  });
  await git.push('origin', `${sha}:refs/heads/main`);
  return performance.now() - started;
}

export async function gitopsBench(): Promise<void> {
  for (const size of SIZES) await releaseBench(size.targets, size.rounds);
  await secondTimeBench(LARGEST);
  await githubRelease(LARGEST);
  await rolloutTickBench(LARGEST);
}

/**
 * The second time: the first release into an empty fleet, then a release of the next version over
 * it, then a rollout tick of that release, each in a process of its own on the same clone.
 */
async function secondTimeBench(size: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'edgeship-bench-again-'));
  try {
    const remoteDir = await remote(root, 'gitops');
    const workdir = join(root, 'work');
    const first = await applyInChild(size, remoteDir, workdir, 'release:1.0.0');
    const again = await applyInChild(size, remoteDir, workdir, 'release:1.1.0');
    const tick = await applyInChild(size, remoteDir, workdir, 'tick:1.1.0');
    const line = (label: string, step: { ms: number; files: number; action: string; maxRssMiB: number }) =>
      `${label} ${step.ms.toFixed(0)} ms (${(step.ms / first.ms).toFixed(2)}× the first; ${step.action}, ${step.files} files), peak RSS ${step.maxRssMiB.toFixed(0)} MiB`;
    console.log(
      `\nGitOps, the second time across ${size + 1} targets (aims: each within 1.5× the first release, peak RSS < 400 MiB): first release ${first.ms.toFixed(0)} ms, ${first.files} files, peak RSS ${first.maxRssMiB.toFixed(0)} MiB; ${line('a release over it', again)}; ${line('a rollout tick there', tick)}`,
    );
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
  }
}

/** The same release through the GitHub App's path (GitHubScm against the fake GitHub): calls by kind and request bytes. */
async function githubRelease(size: number): Promise<void> {
  const github = new FakeGitHub();
  try {
    github.commit('acme/gitops', 'main', { 'README.md': '# GitOps\n' });
    const { config, report } = fleet(size);
    const repo = new ScmBranchRepo(
      new GitHubScm(await testProbot().probot.auth(42)),
      { owner: 'acme', repo: 'gitops' },
      'main',
    );
    const started = performance.now();
    const commit = await repo.apply(planGitOpsChange(config, report), 'release(pump): 1.0.0');
    const elapsed = performance.now() - started;
    const calls = github.calls.filter((call) => !call.path.includes('access_tokens'));
    const kinds = new Map<string, number>();
    for (const call of calls) {
      const kind =
        call.path === '/graphql'
          ? call.mutation
            ? 'GraphQL mutation'
            : 'GraphQL query'
          : `${call.method} ${call.path.replace(/^\/repos\/[^/]+\/[^/]+/, '').replace(/\/[0-9a-f]{40}$/, '/{sha}')}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const bytes = calls.reduce((sum, call) => sum + (call.bytes ?? 0), 0);
    console.log(
      `\nGitHub: a release across ${size + 1} targets through the app's path, ${commit?.files.length ?? 0} files in one commit in ${elapsed.toFixed(0)} ms: ${calls.length} calls (${[...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ')}), ${(bytes / 2 ** 20).toFixed(1)} MiB of request bodies, the largest ${(Math.max(...calls.map((call) => call.bytes ?? 0)) / 2 ** 20).toFixed(1)} MiB`,
    );
  } finally {
    github.done();
  }
}

/** One step (`release:<version>`, `tick:<version>`) in a process of its own (bench/gitops-apply.ts), so the peak RSS is the step's alone. */
async function applyInChild(
  size: number,
  remoteDir: string,
  workdir: string,
  step = 'release:1.0.0',
): Promise<{ ms: number; files: number; action: string; maxRssMiB: number }> {
  const script = fileURLToPath(new URL('gitops-apply.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), script, String(size), remoteDir, workdir, step],
    { maxBuffer: 2 ** 20 },
  );
  return JSON.parse(stdout) as { ms: number; files: number; action: string; maxRssMiB: number };
}

async function releaseBench(size: number, rounds: number): Promise<void> {
  const { config, report } = fleet(size);
  const files = await planGitOpsChange(config, report)(async () => undefined);
  const ours: number[] = [];
  const baseline: number[] = [];
  let written = 0;
  let peak = 0;
  let message = '';
  for (let round = 0; round < rounds; round += 1) {
    // Alternating rounds on fresh repos, baseline first, so caches favour neither side.
    const root = await mkdtemp(join(tmpdir(), 'edgeship-bench-gitops-'));
    try {
      baseline.push(await floorCommit(root, files));
      const remoteDir = await remote(root, 'gitops');
      const applied = await applyInChild(size, remoteDir, join(root, 'work'));
      ours.push(applied.ms);
      written = applied.files;
      peak = Math.max(peak, applied.maxRssMiB);
      message = await simpleGit().raw(['--git-dir', remoteDir, 'log', '-1', '--format=%B', 'main']);
    } finally {
      // git may still be packing in the background after a large commit.
      await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const aim =
    size < 1000 ? 'smoke: not judged' : size === 1000 ? 'aim < 2000 ms' : 'aim < 15000 ms, peak RSS < 400 MiB';
  console.log(
    `\nGitOps: a release across ${size + 1} targets planned and written in one commit (${written} files, a ${Buffer.byteLength(message)}-byte message), median of ${rounds} round${rounds > 1 ? 's' : ''}: ` +
      `${median(ours).toFixed(0)} ms, peak RSS of the applying process ${peak.toFixed(0)} MiB (${aim}); the same files pre-rendered, committed by the same fast-import and pushed: ${median(baseline).toFixed(0)} ms; ratio ${(median(ours) / median(baseline)).toFixed(2)}`,
  );
}
