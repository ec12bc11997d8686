/**
 * One release applied in a process of its own, so its peak RSS is the apply's alone (the app
 * reading the config, planning and committing), not the bench's: `gitops-apply.ts <targets>
 * <bare remote> <workdir>`, after cloning (as a running app has its clone). Prints JSON.
 */
import { performance } from 'node:perf_hooks';
import { GitRemoteRepo } from '../src/adapters/git/gitops-repo.ts';
import { applyRelease } from '../src/services/apply.ts';
import { fleet } from '../test/helpers/fleet.ts';

const [size = '0', remote = '', workdir = ''] = process.argv.slice(2);
const repo = new GitRemoteRepo({ remote, branch: 'main', workdir });
await repo.read('README.md');
const { config, report } = fleet(Number(size));
const started = performance.now();
const commit = await applyRelease(repo, config, report);
const ms = performance.now() - started;
console.log(JSON.stringify({ ms, files: commit?.files.length ?? 0, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
