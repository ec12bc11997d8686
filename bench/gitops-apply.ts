/**
 * One GitOps step in a process of its own, so its peak RSS is the step's alone (the app reading
 * the config, planning and committing), not the bench's: `gitops-apply.ts <targets> <bare remote>
 * <workdir> <step>`, after cloning (as a running app has its clone), where the step is
 * `release:<version>` (the release to every target, over whatever the fleet runs) or
 * `tick:<version>` (one rollout step of that release, Argo CD reporting every site Synced and
 * Healthy at the GitOps head). Prints JSON: its time, files written, what the step did and peak RSS.
 */
import { performance } from 'node:perf_hooks';
import { GitRemoteRepo } from '../src/adapters/git/gitops-repo.ts';
import { applyRelease } from '../src/services/apply.ts';
import { advanceRollout } from '../src/services/rollout.ts';
import { fleet } from '../test/helpers/fleet.ts';
import type { FleetState } from '../src/ports.ts';
import { simpleGit } from 'simple-git';

const [size = '0', remote = '', workdir = '', step = 'release:1.0.0'] = process.argv.slice(2);
const [kind, version = '1.0.0'] = step.split(':');
const repo = new GitRemoteRepo({ remote, branch: 'main', workdir });
await repo.read('README.md');
const { config, report } = fleet(Number(size), { waves: true, version });
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const started = performance.now();
let files = 0;
let action = 'release';
if (kind === 'tick') {
  const head = (await simpleGit(workdir).revparse(['refs/remotes/origin/main'])).trim();
  const healthy: FleetState = {
    sync: 'Synced',
    health: 'Healthy',
    revision: head,
    healthySince: Date.now() - 24 * 3600_000,
  };
  const result = await advanceRollout(
    {
      gitops: repo,
      log: silent,
      fleet: { states: async (targets) => new Map(targets.map((target) => [target, healthy])) },
    },
    config,
    report,
  );
  files = result.commit?.files.length ?? 0;
  action = result.action.kind;
} else {
  files = (await applyRelease(repo, config, report))?.files.length ?? 0;
}
const ms = performance.now() - started;
console.log(JSON.stringify({ ms, files, action, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
