import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { describe, expect, it } from 'vitest';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { startArgoCd } from '../helpers/argocd-server.ts';
import { cliWorkspace, edgeship } from '../helpers/cli-workspace.ts';
import { useTempDirs } from '../helpers/temp.ts';

/** The rollout commands, in a file of their own so the CLI's long flows run side by side. */
describe('edgeship rollout', () => {
  const tempDir = useTempDirs();
  const workspace = async () => cliWorkspace(await tempDir());

  it('steps a rollout from the command line, watching Argo CD through a kubeconfig', async () => {
    const { root, repo, gitops, flags, evaluate } = await workspace();
    expect((await edgeship(evaluate, repo)).code).toBe(0);
    expect((await edgeship(['publish', ...flags], repo)).code).toBe(0);
    // As the app on a merge: the release and its first wave.
    const applied = await edgeship(['apply', ...flags], repo);
    expect(applied).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^pump-forecaster 1\.0\.0: sent wave canary \(substation-east\) in [0-9a-f]{40}\n/,
      ) as string,
    });
    const blind = await edgeship(['rollout', ...flags], repo);
    expect(blind.stdout).toMatch(
      /^pump-forecaster 1\.0\.0: waiting in wave canary: edgeship cannot read Argo CD here, so it does not watch health: `edgeship rollout --promote` sends the next wave/,
    );
    expect(blind.stdout).not.toContain('by hand');

    const head = (await simpleGit().raw(['--git-dir', gitops, 'rev-parse', 'main'])).trim();
    const argo = await startArgoCd(
      (name) => ({
        sync: 'Synced',
        health: name === 'edgeship-substation-east' ? 'Degraded' : 'Healthy',
        phase: 'Succeeded',
        revision: head,
      }),
      ['plant-north', 'plant-south', 'substation-east', 'cloud'].map((target) => `edgeship-${target}`),
    );
    try {
      const kubeconfig = join(root, 'kubeconfig');
      await writeFile(kubeconfig, argo.kubeconfig.exportConfig());
      const halted = await edgeship(['rollout', ...flags, '--kubeconfig', kubeconfig], repo);
      expect(halted.stdout).toContain(
        'pump-forecaster 1.0.0: halted in wave canary: substation-east is Degraded; it ran no earlier release to roll back to',
      );
      expect(halted.stdout).toMatch(/ {2}failure {5}substation-east {6}Degraded after the sync/);
      expect(
        parseReleaseRecord(
          await simpleGit().raw(['--git-dir', gitops, 'show', 'main:models/pump-forecaster/release.yaml']),
          'release.yaml',
        ).rollout,
      ).toMatchObject({ status: 'halted' });
      expect((await edgeship(['rollout', ...flags, '--kubeconfig', kubeconfig], repo)).stdout).toMatch(
        /^pump-forecaster 1\.0\.0: the rollout has ended: halted/,
      );
      const wrong = await edgeship(['rollout', ...flags, '--kubeconfig', kubeconfig, '--context', 'prod'], repo);
      expect(wrong).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--context: expected a context of') as string,
      });
    } finally {
      await argo.stop();
    }
  });
});
