import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GatesFailedError, UsageError } from '../../core/errors.ts';
import { forTerminal } from '../../core/markdown.ts';
import type { EvaluationReport } from '../../core/report-schema.ts';
import type { RolloutResult } from '../../services/rollout.ts';
import type { Overrides } from '../../compose/local.ts';
import { SILENT } from '../../ports.ts';
import { modules } from '../lazy.ts';
import { emit } from '../output.ts';
import { ConsoleProgress } from '../../compose/progress.ts';
import { runEnvironment } from '../../compose/run-settings.ts';

/** The release engine these commands run, loaded when one runs. */
const engine = () =>
  modules(
    import('../../adapters/oci/index.ts'),
    import('../../adapters/training/local-process.ts'),
    import('../../core/report.ts'),
    import('../../services/apply.ts'),
    import('../../services/evaluate-checkout.ts'),
    import('../../adapters/fs/measured.ts'),
    import('../../services/file-hash.ts'),
    import('../../services/publish.ts'),
    import('../../services/release.ts'),
    import('../../services/rollout.ts'),
    import('../../services/gitops-writes.ts'),
    import('../../services/report-file.ts'),
    import('../../compose/local.ts'),
    import('../../adapters/git/provenance.ts'),
    import('../../compose/model-repo.ts'),
  );

interface RepoOptions extends Overrides {
  repo: string;
  json?: boolean;
}

const withRepo = (command: Command) =>
  command
    .option('--repo <dir>', 'model repo checkout', '.')
    .option('--gitops <remote>', 'GitOps repo path or URL (overrides gitops.repo)')
    .option('--artifacts <location>', 'registry[/namespace] or oci-layout:<dir> (overrides artifacts.repository)')
    .option('--json', 'machine-readable output');

/**
 * The Kubernetes adapters, loaded only by the commands that talk to a cluster: the Kubernetes
 * client takes over a second to load, which every other command would pay at start-up.
 */
const k8s = {
  names: { file: '--kubeconfig', context: '--context' },
  async capacity(file: string) {
    const [{ KubernetesCapacity }, { loadKubeconfig }] = await Promise.all([
      import('../../adapters/k8s/cluster-capacity.ts'),
      import('../../adapters/k8s/kubeconfig.ts'),
    ]);
    return new KubernetesCapacity(loadKubeconfig({ file, names: this.names }));
  },
  async argocd(file: string, context: string | undefined, namespace: string) {
    const [{ ArgoCdApplications }, { loadKubeconfig }] = await Promise.all([
      import('../../adapters/k8s/argocd.ts'),
      import('../../adapters/k8s/kubeconfig.ts'),
    ]);
    return new ArgoCdApplications(loadKubeconfig({ file, ...(context && { context }), names: this.names }), namespace);
  },
};
const PROMOTE_HINT = '`edgeship rollout --promote`';
const NEXT =
  'next: `edgeship rollout` (with --kubeconfig to watch Argo CD, or --promote to send the next wave yourself)';

/** Comma-separated target names, each one of the config's. */
function targetList(text: string, known: string[]): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !known.includes(name));
  if (names.length === 0 || unknown.length > 0)
    throw new UsageError(`--targets: expected names of targets in the config (${known.join(', ')}), found "${text}"`);
  return names;
}

function rolloutText(report: EvaluationReport, result: RolloutResult): string {
  const { action } = result;
  const headline =
    action.kind === 'apply-wave'
      ? `sent wave ${action.wave} (${action.targets.join(', ')}) in ${result.commit?.sha ?? 'no new commit'}`
      : action.kind === 'wait'
        ? `waiting in wave ${action.wave}: ${action.reason}`
        : action.kind === 'rollback'
          ? `rolled ${action.targets.join(', ')} back in ${result.commit?.sha ?? 'no new commit'}: ${action.reason}`
          : action.kind === 'halt'
            ? `halted in wave ${action.wave}: ${action.reason}`
            : action.kind === 'done'
              ? 'rolled out to every wave'
              : action.kind === 'superseded'
                ? `superseded by ${action.by}`
                : `the rollout has ended: ${action.status}`;
  return [
    `${report.model} ${report.version.version}: ${headline}`,
    ...result.statuses.map((entry) => `  ${entry.state.padEnd(11)} ${entry.target.padEnd(20)} ${entry.description}`),
  ].join('\n');
}

export function registerReleaseCommands(program: Command): void {
  withRepo(program.command('train').description('Run the training command of the config here')).action(
    async (options: RepoOptions) => {
      const { localDeps, openModelRepo } = await engine();
      const { directory, config } = await openModelRepo(options.repo);
      const deps = localDeps(directory, config, new ConsoleProgress(), options);
      const outputs = await deps.progress.step(`Training ${config.model}`, (note) =>
        deps.training.train({ directory, command: config.train.command, outputs: config.train.outputs }, note),
      );
      emit(Boolean(options.json), outputs, () => `outputs in ${outputs.directory}`);
    },
  );

  withRepo(
    program
      .command('evaluate')
      .description('Inspect, golden-check, profile and gate the trained model; write report.json'),
  )
    .option('--no-baseline', 'do not compare with the deployed release')
    .option('--trigger <text>', "why this run trained (the app passes drift evidence as the workflow's context input)")
    .option('--out <file>', 'where to write the report (default: <outputs>/report.json)')
    .option(
      '--kubeconfig <file>',
      'kubeconfig with the contexts targets name (targets[].context): place on their live capacity',
      runEnvironment().EDGESHIP_CLUSTERS_KUBECONFIG,
    )
    .option(
      '--measured <dir>',
      'profile results measured on the devices (edgeship profile --on-device --out): used instead of emulating those profiles',
    )
    .action(
      async (
        options: RepoOptions & {
          baseline: boolean;
          out?: string;
          trigger?: string;
          kubeconfig?: string;
          measured?: string;
        },
      ) => {
        const {
          collectOutputs,
          renderReport,
          evaluateCheckout,
          readMeasured,
          writeReportFile,
          localDeps,
          evaluationProvenance,
          openModelRepo,
        } = await engine();
        const { directory, config } = await openModelRepo(options.repo);
        const capacity = options.kubeconfig ? await k8s.capacity(options.kubeconfig) : undefined;
        const deps = { ...localDeps(directory, config, new ConsoleProgress(), options), ...(capacity && { capacity }) };
        const outputs = await collectOutputs(resolve(directory, config.train.outputs));
        const provenance = await evaluationProvenance(directory, outputs.directory, config, options.trigger);
        const measured = options.measured ? await readMeasured(resolve(options.measured)) : [];
        const report = await evaluateCheckout(
          { ...deps, ...(options.baseline && { baseline: deps }) },
          { config, outputs, provenance, measured },
        );
        await writeReportFile(options.out ?? join(outputs.directory, 'report.json'), report);
        emit(Boolean(options.json), report, () => forTerminal(renderReport(report)));
        if (!report.passed) process.exitCode = 1;
      },
    );

  program
    .command('gates <report>')
    .description('Print the gate verdicts of a report.json; exits 1 when a gate failed')
    .option('--json', 'machine-readable output')
    .action(async (path: string, options: { json?: boolean }) => {
      const { readCurrentReport } = await engine();
      const report = await readCurrentReport(path);
      emit(Boolean(options.json), report.gates, () =>
        report.gates.map((gate) => `${gate.passed ? '✔' : '✖'} ${gate.title}: ${gate.reason}`).join('\n'),
      );
      if (!report.passed) process.exitCode = 1;
    });

  program
    .command('report <report>')
    .description('Render a report.json as the release PR body (markdown)')
    .action(async (path: string) => {
      const { renderReport, readCurrentReport } = await engine();
      process.stdout.write(renderReport(await readCurrentReport(path)));
    });

  withRepo(program.command('publish').description('Push the evaluated model as an OCI artifact pinned by digest'))
    .option('--report <file>', 'report.json from evaluate (default: <outputs>/report.json)')
    .option('--force', 'publish even though a gate failed')
    .action(async (options: RepoOptions & { report?: string; force?: boolean }) => {
      const { collectOutputs, sha256File, publish, readCurrentReport, writeReportFile, localDeps, openModelRepo } =
        await engine();
      const { directory, config } = await openModelRepo(options.repo);
      const outputs = await collectOutputs(resolve(directory, config.train.outputs));
      const reportPath = options.report ?? join(outputs.directory, 'report.json');
      const report = await readCurrentReport(reportPath);
      if (report.candidate.sha256 !== (await sha256File(outputs.model)))
        throw new UsageError(
          `${reportPath} is not the report of ${outputs.model}: it was trained again after this report; run edgeship evaluate`,
        );
      if (!report.passed && !options.force)
        throw new GatesFailedError(
          `${reportPath}: gates failed (\`edgeship gates ${reportPath}\` lists them); fix them, or pass --force to publish anyway`,
        );
      const deps = localDeps(directory, config, new ConsoleProgress(), options);
      report.artifact = await deps.progress.step(`Publishing ${report.model} ${report.version.version}`, () =>
        publish(deps.store, outputs, report, config.artifacts, deps.signer),
      );
      await writeReportFile(reportPath, report);
      emit(Boolean(options.json), report.artifact, () => report.artifact?.reference ?? '');
    });

  program
    .command('pull <reference> <directory>')
    .description('Pull an artifact and verify every digest')
    .option('--json', 'machine-readable output')
    .action(async (reference: string, directory: string, options: { json?: boolean }) => {
      const { artifactStoreForReference, credentialsFromEnv } = await engine();
      const credentials = credentialsFromEnv(runEnvironment());
      const pulled = await artifactStoreForReference(reference, credentials ? { credentials } : {}).pull(
        reference,
        resolve(directory),
      );
      emit(
        Boolean(options.json),
        { digest: pulled.digest, files: pulled.files },
        () => `${pulled.digest}\n${Object.values(pulled.files).join('\n')}`,
      );
    });

  withRepo(
    program
      .command('apply')
      .description(
        'Commit a published release to the GitOps repo: its first wave (`edgeship rollout` sends the next ones), the targets named, or every wave',
      ),
  )
    .option('--report <file>', 'report.json with a published artifact (default: <outputs>/report.json)')
    .option('--targets <names>', 'comma-separated targets: only these, and only the waves they cover count as sent')
    .option('--all-waves', 'every target at once, every wave marked as sent (no staged rollout)')
    .action(async (options: RepoOptions & { report?: string; targets?: string; allWaves?: boolean }) => {
      const { applyRelease, startRollout, readRecord, readReportFile, localDeps, openModelRepo } = await engine();
      const { directory, config } = await openModelRepo(options.repo);
      const report = await readReportFile(options.report ?? join(directory, config.train.outputs, 'report.json'));
      const targets =
        options.targets === undefined
          ? undefined
          : targetList(
              options.targets,
              config.targets.map((target) => target.name),
            );
      const deps = localDeps(directory, config, new ConsoleProgress(), options);
      if (targets || options.allWaves || !config.rollout) {
        const commit = await applyRelease(deps.gitops, config, report, targets ? { targets } : {});
        emit(Boolean(options.json), commit ?? null, () =>
          commit ? `committed ${commit.sha} (${commit.files.join(', ')})` : 'nothing to change',
        );
        return;
      }
      // As the app does on a merge: the release and its first wave; `edgeship rollout` takes it from there.
      const { record } = await readRecord(config, (file) => deps.gitops.read(file));
      if (record?.version === report.version.version) {
        emit(
          Boolean(options.json),
          null,
          () =>
            `${report.model} ${report.version.version} is applied already; \`edgeship rollout\` takes its next step`,
        );
        return;
      }
      const { result } = await startRollout(
        { gitops: deps.gitops, log: SILENT, promoteHint: PROMOTE_HINT },
        config,
        report,
      );
      emit(Boolean(options.json), result ?? null, () =>
        result ? `${rolloutText(report, result)}\n${NEXT}` : 'nothing to change',
      );
    });

  withRepo(
    program
      .command('rollout')
      .description("Take the next step of a release's rollout: send a wave, wait, roll back or finish"),
  )
    .option('--report <file>', 'report.json of the release (default: <outputs>/report.json)')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster Argo CD runs in; without it health is not watched')
    .option('--context <name>', 'kubeconfig context')
    .option('--argocd-namespace <name>', 'namespace of the Argo CD Applications', 'argocd')
    .option('--promote', 'send the next wave without waiting for health and soak')
    .action(
      async (
        options: RepoOptions & {
          report?: string;
          kubeconfig?: string;
          context?: string;
          argocdNamespace: string;
          promote?: boolean;
        },
      ) => {
        const { advanceRollout, readReportFile, localDeps, openModelRepo } = await engine();
        const { directory, config } = await openModelRepo(options.repo);
        const report = await readReportFile(options.report ?? join(directory, config.train.outputs, 'report.json'));
        const deps = localDeps(directory, config, new ConsoleProgress(), options);
        const fleet = options.kubeconfig
          ? await k8s.argocd(options.kubeconfig, options.context, options.argocdNamespace)
          : undefined;
        const result = await advanceRollout(
          { gitops: deps.gitops, log: SILENT, promoteHint: PROMOTE_HINT, ...(fleet && { fleet }) },
          config,
          report,
          { promote: Boolean(options.promote) },
        );
        emit(Boolean(options.json), result, () => rolloutText(report, result));
      },
    );

  withRepo(program.command('release').description('Train, evaluate, publish and commit to the GitOps repo')).action(
    async (options: RepoOptions) => {
      const { releaseModel, writeReportFile, localDeps, gitProvenance, openModelRepo } = await engine();
      const { directory, config } = await openModelRepo(options.repo);
      const deps = localDeps(directory, config, new ConsoleProgress(), options);
      const outcome = await releaseModel(deps, { directory, config, provenance: await gitProvenance(directory) });
      // The report it decided on, passed or not, for gates, report and publish to read.
      await writeReportFile(join(directory, config.train.outputs, 'report.json'), outcome.report);
      emit(
        Boolean(options.json),
        outcome,
        () => `${forTerminal(outcome.markdown)}${outcome.commit && config.rollout ? `\n${NEXT}` : ''}`,
      );
      if (!outcome.report.passed) process.exitCode = 1;
    },
  );
}
