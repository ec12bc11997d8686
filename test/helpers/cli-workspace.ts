import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { inject } from 'vitest';
import { seedGitOpsRemote, seedRepo } from '../../src/cli/demo-setup.ts';
import { runEdgeship } from './cli.ts';
import { ROOT, writeMeasured } from './fixtures.ts';

/** Runs the CLI as a user would, without the artifact and GitOps overrides of this shell. */
export const edgeship = (args: string[], cwd: string) =>
  runEdgeship(args, { cwd, env: { ...process.env, EDGESHIP_ARTIFACTS: '', EDGESHIP_GITOPS: '' } });

/** In `root`: a model repo from model-repo-example with training already done, and a GitOps remote. */
export async function cliWorkspace(root: string) {
  const repo = join(root, 'model-repo');
  await seedRepo(join(ROOT, 'model-repo-example'), repo, 'model');
  await cp(inject('exampleOutputs'), join(repo, 'out'), { recursive: true });
  const gitops = await seedGitOpsRemote(join(ROOT, 'templates/gitops'), root);
  // Latency as the devices measured it: gate verdicts here must not depend on how busy this machine is.
  const measured = await writeMeasured(join(root, 'measured'), ['jetson-orin-nano', 'jetson-xavier-nx', 'cloud-cpu'], {
    batch: 64,
  });
  const flags = ['--repo', repo, '--gitops', gitops, '--artifacts', `oci-layout:${join(root, 'oci')}`];
  const evaluate = ['evaluate', ...flags, '--measured', measured];
  const gitopsLog = async () =>
    (await simpleGit().raw(['--git-dir', gitops, 'log', '--format=%s', 'main'])).trim().split('\n');
  return { root, repo, gitops, flags, evaluate, gitopsLog };
}
