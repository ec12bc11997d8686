import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { forTerminal } from '../../core/markdown.ts';
import type { PlacementDecision } from '../../core/placement.ts';
import type { ReleaseOutcome } from '../../services/release.ts';
import { modules } from '../lazy.ts';
import { ConsoleProgress } from '../../compose/progress.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Release 2 makes the forecaster larger: better F1, slower on a Xavier NX. */
export const LARGER_MODEL = { hidden: 64, layers: 2, epochs: 4 };

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the local release loop on model-repo-example: release 1.0.0, then a larger model')
    .option('--dir <dir>', 'where to create the demo repos (wiped first)', '.demo')
    .option('--artifacts <location>', 'registry[/namespace] to publish to (default: an OCI layout in --dir)')
    .action(async (options: { dir: string; artifacts?: string }) => {
      const {
        releaseModel,
        localDeps,
        commitParams,
        findPython,
        freshDirectory,
        seedGitOpsRemote,
        seedRepo,
        gitProvenance,
        openModelRepo,
      } = await modules(
        import('../../services/release.ts'),
        import('../../compose/local.ts'),
        import('../demo-setup.ts'),
        import('../../adapters/git/provenance.ts'),
        import('../../compose/model-repo.ts'),
      );
      const out = (text = '') => process.stdout.write(`${text}\n`);
      const progress = new ConsoleProgress();
      const root = resolve(options.dir);
      const python = await findPython();
      const { modelRepo, gitops } = await progress.step(
        `Creating a model repo and a GitOps repo in ${root}`,
        async () => {
          await freshDirectory(root);
          const modelRepo = join(root, 'model-repo');
          await seedRepo(join(ROOT, 'model-repo-example'), modelRepo, 'Pump forecaster');
          return { modelRepo, gitops: await seedGitOpsRemote(join(ROOT, 'templates', 'gitops'), root) };
        },
      );
      const overrides = { gitops, artifacts: options.artifacts ?? `oci-layout:${join(root, 'oci')}` };
      const release = async (): Promise<ReleaseOutcome> => {
        const { directory, config } = await openModelRepo(modelRepo);
        const deps = localDeps(directory, config, progress, overrides);
        return releaseModel(deps, {
          directory,
          config,
          provenance: await gitProvenance(directory),
          env: { PYTHON: python },
        });
      };

      out('# Release 1: the first model');
      const first = await release();
      out(forTerminal(first.markdown));
      await printCommit(out, gitops, first);

      await commitParams(modelRepo, LARGER_MODEL, 'Larger forecaster: 2 GRU layers of 64');
      out(`# Release 2: a larger model (${JSON.stringify(LARGER_MODEL)})`);
      const second = await release();
      out(forTerminal(second.markdown));
      await printCommit(out, gitops, second);

      out('# What changed');
      out(
        `${first.report.version.version} → ${second.report.version.version} (${second.report.version.bump}: ${second.report.version.reason})`,
      );
      for (const line of placementChanges(first.report.placement, second.report.placement)) out(line);
      // Gate verdicts are what the demo shows, not its failure: latency is measured on this
      // machine, and a slow or busy one can block a target. Errors still exit non-zero.
      for (const { report } of [first, second].filter((outcome) => !outcome.report.passed)) {
        process.stderr.write(
          `note: ${report.model} ${report.version.version} failed its gates on this machine (${report.gates
            .filter((gate) => !gate.passed)
            .map((gate) => gate.id)
            .join(', ')}); nothing was published or committed for it\n`,
        );
      }
    });
}

async function printCommit(out: (text?: string) => void, gitops: string, outcome: ReleaseOutcome): Promise<void> {
  const { showCommit } = await import('../demo-setup.ts');
  if (!outcome.commit) {
    out(
      outcome.report.passed ? 'GitOps repo already up to date.' : 'Gates failed: nothing published, nothing committed.',
    );
    return;
  }
  out('GitOps commit:');
  out('```diff');
  out((await showCommit(gitops, outcome.commit.sha)).trimEnd());
  out('```');
  out();
}

function placementChanges(before: PlacementDecision[], after: PlacementDecision[]): string[] {
  return after.map((decision) => {
    const old = before.find((candidate) => candidate.target === decision.target)?.choice ?? 'none';
    const arrow = old === decision.choice ? `stays ${decision.choice}` : `${old} → ${decision.choice}`;
    return `- ${decision.target}: ${arrow} (${decision.reason})`;
  });
}
