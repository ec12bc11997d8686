/**
 * Releases applied in a process of its own, so its peak RSS is the applies' alone (the app
 * reading the config, planning and committing), not the bench's: `gitops-apply.ts <targets>
 * <bare remote> <workdir> [version,…]`, after cloning (as a running app has its clone). Each
 * version is released over the fleet the one before left (1.0.0 alone by default). Prints JSON:
 * per release its time and files, and the peak RSS after each.
 */
import { performance } from 'node:perf_hooks';
import { GitRemoteRepo } from '../src/adapters/git/gitops-repo.ts';
import { applyRelease } from '../src/services/apply.ts';
import { fleet } from '../test/helpers/fleet.ts';

const [size = '0', remote = '', workdir = '', versions = '1.0.0'] = process.argv.slice(2);
const repo = new GitRemoteRepo({ remote, branch: 'main', workdir });
await repo.read('README.md');
const releases: { version: string; ms: number; files: number; maxRssMiB: number }[] = [];
for (const version of versions.split(',')) {
  const { config, report } = fleet(Number(size), { version });
  const started = performance.now();
  const commit = await applyRelease(repo, config, report);
  const ms = performance.now() - started;
  releases.push({ version, ms, files: commit?.files.length ?? 0, maxRssMiB: process.resourceUsage().maxRSS / 1024 });
}
console.log(JSON.stringify(releases));
