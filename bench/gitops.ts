/**
 * GitOps write throughput: a release across 1,000 and 10,000 targets, planned and written in one
 * commit to a real git repo (aim < 2 s at 1,000; < 15 s and peak RSS < 400 MiB at 10,000), against
 * a baseline of writing the same files with plain fs.writeFile and committing them with the same
 * git calls.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { simpleGit } from 'simple-git';
import { GitRemoteRepo } from '../src/adapters/git/gitops-repo.ts';
import type { EdgeshipConfig, Target } from '../src/core/config.ts';
import { parseConfig } from '../src/core/config-parse.ts';
import type { EvaluationReport } from '../src/core/release-plan.ts';
import { applyRelease, planGitOpsChange } from '../src/services/apply.ts';
import { GitHubScm } from '../src/adapters/github/scm.ts';
import { ScmBranchRepo } from '../src/services/scm-branch-repo.ts';
import { FakeGitHub } from '../test/helpers/fake-github.ts';
import { testProbot } from '../test/helpers/webhooks.ts';

const SIZES = [{ targets: 1000, rounds: 3 }, { targets: 10_000, rounds: 1 }];
const IDENTITY = { config: ['user.name=bench', 'user.email=bench@edgeship.dev'] };

function fleet(size: number): { config: EdgeshipConfig; report: EvaluationReport } {
  const targets = Array.from({ length: size }, (_, index) => `  - { name: site-${index}, kind: edge, profile: jetson-orin-nano, memoryBudgetMb: 256, latencyBudgetMs: 20 }`);
  const config = parseConfig(
    `model: pump\ntrain: { command: "true" }\nmetrics: { primary: f1, direction: maximize }\ntargets:\n${targets.join('\n')}\n  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 10, endpoint: "https://models.example/pump" }\ngitops: { repo: x }\n`,
    'bench.yml',
  );
  const digest = `sha256:${'a'.repeat(64)}`;
  const placement = config.targets.map((target: Target, index) => ({
    target: target.name,
    kind: target.kind,
    choice: target.kind === 'cloud' ? ('cloud' as const) : index % 10 === 0 ? ('offload' as const) : ('edge' as const),
    latencyBudgetMs: target.latencyBudgetMs,
    ...(target.kind === 'edge' && index % 10 === 0 && { offloadTo: 'cloud' }),
    reason: 'bench',
  }));
  const report = { model: 'pump', version: { version: '1.0.0', bump: 'initial', reason: 'bench' }, placement, passed: true, gates: [], metrics: [{ name: 'f1', value: 0.9 }], primary: { name: 'f1', direction: 'maximize', improved: true }, artifact: { reference: `ghcr.io/acme/pump@${digest}`, digest } } as unknown as EvaluationReport;
  return { config, report };
}

async function remote(root: string): Promise<string> {
  const seed = join(root, 'seed');
  await simpleGit(IDENTITY).init(['--initial-branch=main', seed]);
  await writeFile(join(seed, 'README.md'), '# GitOps\n');
  await simpleGit(seed, IDENTITY).add('.').commit('seed');
  const bare = join(root, 'gitops.git');
  await simpleGit().clone(seed, bare, ['--bare']);
  return bare;
}

/** Baseline: the same files, already rendered, written the same way (directories once, files concurrently), then the same add, commit and push. */
async function plainWrite(root: string, files: { path: string; content: string }[]): Promise<number> {
  const plain = join(root, 'plain');
  await simpleGit().clone(join(root, 'gitops.git'), plain);
  const started = performance.now();
  const directories = [...new Set(files.map((file) => dirname(join(plain, file.path))))];
  for (let start = 0; start < directories.length; start += 64) await Promise.all(directories.slice(start, start + 64).map((directory) => mkdir(directory, { recursive: true })));
  for (let start = 0; start < files.length; start += 64) await Promise.all(files.slice(start, start + 64).map((file) => writeFile(join(plain, file.path), file.content)));
  const git = simpleGit(plain, IDENTITY);
  await git.add(['-A', '.']);
  await git.commit('plain');
  await git.push('origin', 'HEAD:refs/heads/plain');
  return performance.now() - started;
}

export async function gitopsBench(): Promise<void> {
  for (const size of SIZES) await releaseBench(size.targets, size.rounds);
  await githubRelease(10_000);
}

/** The same release through the GitHub App's path (GitHubScm against the fake GitHub): calls by kind and request bytes. */
async function githubRelease(size: number): Promise<void> {
  const github = new FakeGitHub();
  try {
    github.commit('acme/gitops', 'main', { 'README.md': '# GitOps\n' });
    const { config, report } = fleet(size);
    const repo = new ScmBranchRepo(new GitHubScm(await testProbot().probot.auth(42)), { owner: 'acme', repo: 'gitops' }, 'main');
    const started = performance.now();
    const commit = await repo.apply(planGitOpsChange(config, report), 'release(pump): 1.0.0');
    const elapsed = performance.now() - started;
    const calls = github.calls.filter((call) => !call.path.includes('access_tokens'));
    const kinds = new Map<string, number>();
    for (const call of calls) {
      const kind = call.path === '/graphql' ? (call.mutation ? 'GraphQL mutation' : 'GraphQL query') : `${call.method} ${call.path.replace(/^\/repos\/[^/]+\/[^/]+/, '').replace(/\/[0-9a-f]{40}$/, '/{sha}')}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const bytes = calls.reduce((sum, call) => sum + (call.bytes ?? 0), 0);
    console.log(`\nGitHub: a release across ${size + 1} targets through the app's path, ${commit?.files.length ?? 0} files in one commit in ${elapsed.toFixed(0)} ms: ${calls.length} calls (${[...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ')}), ${(bytes / 2 ** 20).toFixed(1)} MiB of request bodies, the largest ${((Math.max(...calls.map((call) => call.bytes ?? 0))) / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    github.done();
  }
}

async function releaseBench(size: number, rounds: number): Promise<void> {
  const { config, report } = fleet(size);
  const files = await planGitOpsChange(config, report)(async () => undefined);
  const ours: number[] = [];
  const baseline: number[] = [];
  let written = 0;
  let message = '';
  for (let round = 0; round < rounds; round += 1) {
    // Alternating rounds on fresh repos, baseline first, so caches favour neither side.
    const root = await mkdtemp(join(tmpdir(), 'edgeship-bench-gitops-'));
    try {
      const remoteDir = await remote(root);
      baseline.push(await plainWrite(root, files));
      const repo = new GitRemoteRepo({ remote: remoteDir, branch: 'main', workdir: join(root, 'work') });
      await repo.read('README.md'); // clone outside the timing, as a running app would have it
      const started = performance.now();
      const commit = await applyRelease(repo, config, report);
      ours.push(performance.now() - started);
      written = commit?.files.length ?? 0;
      message = await simpleGit(join(root, 'work')).raw(['log', '-1', '--format=%B']);
    } finally {
      // git may still be packing in the background after a large commit.
      await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const aim = size <= 1000 ? 'aim < 2000 ms' : 'aim < 15000 ms';
  console.log(
    `\nGitOps: a release across ${size + 1} targets planned and written in one commit (${written} files, a ${Buffer.byteLength(message)}-byte message), median of ${rounds} round${rounds > 1 ? 's' : ''}: ` +
      `${median(ours).toFixed(0)} ms (${aim}); the same files pre-rendered and committed with the same git calls: ${median(baseline).toFixed(0)} ms; ratio ${(median(ours) / median(baseline)).toFixed(2)}; ` +
      `peak RSS of the bench process so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
}
