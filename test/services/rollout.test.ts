import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterEach, describe, expect, it } from 'vitest';
import { GitRemoteRepo } from '../../src/adapters/git/gitops-repo.ts';
import { ArgoCdApplications } from '../../src/adapters/k8s/argocd.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { applyRelease } from '../../src/services/apply.ts';
import { advanceRollout, type RolloutResult } from '../../src/services/rollout.ts';
import { startArgoCd, type AppStatus } from '../helpers/argocd-server.ts';
import { evaluationReport, exampleConfigText } from '../helpers/release-world.ts';
import { gitopsRemote } from '../helpers/gitops-remote.ts';
import { useTempDirs } from '../helpers/temp.ts';

const HUMAN = { config: ['user.name=Operator', 'user.email=ops@example.com'] };
const MIN = 60_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const digest = (char: string) => `sha256:${char.repeat(64)}`;

/** The example's report as release `version` of `model`, published at a digest of `char`. */
function release(base: EvaluationReport, version: string, char: string, model = base.model): EvaluationReport {
  return {
    ...base,
    model,
    version: { ...base.version, version },
    artifact: { reference: `ghcr.io/acme/models/${model}@${digest(char)}`, digest: digest(char) },
  };
}

const byState = (result: RolloutResult) =>
  Object.fromEntries(result.statuses.map((entry) => [entry.target, entry.state]));

/**
 * A GitOps repo (a bare git remote), edgeship's clone of it, a person's clone, and a loopback
 * Argo CD whose Applications the test moves along: `sync` is Argo CD syncing the head commit.
 */
async function fleetWorld(root: string) {
  const { bare, seed } = await gitopsRemote(root);
  const apps = new Map<string, AppStatus>();
  const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
  const argo = await startArgoCd(
    (name) => apps.get(name.replace(/^edgeship-/, '')),
    config.targets.map((target) => `edgeship-${target.name}`),
  );
  const clock = { now: Date.parse('2026-11-26T12:00:00Z') };
  const base = await evaluationReport();
  const gitops = new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'edgeship') });
  const deps = { gitops, fleet: new ArgoCdApplications(argo.kubeconfig), log: silent, now: () => clock.now };
  const git = simpleGit(HUMAN);
  return {
    config,
    gitops,
    deps,
    clock,
    v1: release(base, '1.0.0', 'a'),
    v2: release(base, '1.1.0', 'b'),
    show: (path: string) => git.raw(['--git-dir', bare, 'show', `main:${path}`]),
    subjects: async () =>
      (await git.raw(['--git-dir', bare, 'log', '--format=%an|%s', 'main'])).trim().split('\n').reverse().slice(1),
    record: async (model = 'pump-forecaster') =>
      parseReleaseRecord(
        await git.raw(['--git-dir', bare, 'show', `main:models/${model}/release.yaml`]),
        'release.yaml',
      ),
    /** Argo CD syncs the head: every target Synced at it, Healthy unless `health` says otherwise. */
    async sync(health: (target: string) => string = () => 'Healthy') {
      const head = (await git.raw(['--git-dir', bare, 'rev-parse', 'main'])).trim();
      const at = new Date(clock.now).toISOString();
      for (const target of config.targets)
        apps.set(target.name, {
          sync: 'Synced',
          health: health(target.name),
          phase: 'Succeeded',
          revision: head,
          healthySince: at,
          finishedAt: at,
        });
    },
    /** A person commits an edit of a file in the GitOps repo. */
    async edit(path: string, change: (text: string) => string, message: string) {
      await simpleGit(seed, HUMAN).pull('origin', 'main');
      const file = join(seed, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, change(await readFile(file, 'utf8')));
      await simpleGit(seed, HUMAN).add('.').commit(message).push('origin', 'HEAD:main');
    },
    stop: argo.stop,
  };
}

type World = Awaited<ReturnType<typeof fleetWorld>>;

/** 1.0.0 runs everywhere, rolled out and Healthy for an hour. */
async function deployV1(world: World) {
  await applyRelease(world.gitops, world.config, world.v1, {
    rollout: { status: 'done', waves: { canary: 't0', plants: 't0', cloud: 't0' } },
  });
  await world.sync();
  world.clock.now += 60 * MIN;
}

describe('rollout', () => {
  const tempDir = useTempDirs();
  const worlds: World[] = [];
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((world) => world.stop()));
  });
  const newWorld = async (root?: string) => {
    const world = await fleetWorld(root ?? (await tempDir()));
    worlds.push(world);
    return world;
  };

  it('rolls a release out wave by wave, waiting for Argo CD to sync and soak each', async () => {
    const world = await newWorld();
    await deployV1(world);
    const advance = () => advanceRollout(world.deps, world.config, world.v2);

    const canary = await advance();
    expect(canary.action).toEqual({ kind: 'apply-wave', wave: 'canary', targets: ['substation-east'] });
    expect(byState(canary)).toEqual({
      'substation-east': 'in_progress',
      'plant-north': 'queued',
      'plant-south': 'queued',
      cloud: 'queued',
    });
    // Argo CD still shows the old commit as Synced: that is not the release.
    expect((await advance()).action).toEqual({
      kind: 'wait',
      wave: 'canary',
      reason: 'substation-east OutOfSync/Healthy',
    });

    await world.sync();
    expect((await advance()).action).toEqual({
      kind: 'wait',
      wave: 'canary',
      reason: 'soaking until 2026-11-26T13:15:00.000Z (15 min Healthy)',
    });
    world.clock.now += 15 * MIN;
    expect((await advance()).action).toEqual({
      kind: 'apply-wave',
      wave: 'plants',
      targets: ['plant-north', 'plant-south'],
    });
    await world.sync();
    world.clock.now += 10 * MIN;
    expect((await advance()).action).toEqual({ kind: 'apply-wave', wave: 'cloud', targets: ['cloud'] });
    await world.sync();
    world.clock.now += 10 * MIN;
    const done = await advance();
    expect(done.action).toEqual({ kind: 'done', skipped: [] });
    expect(byState(done)).toEqual({
      'substation-east': 'success',
      'plant-north': 'success',
      'plant-south': 'success',
      cloud: 'success',
    });
    expect((await advance()).commit).toBeUndefined();

    expect(await world.subjects()).toEqual([
      'edgeship[bot]|release(pump-forecaster): 1.0.0',
      'edgeship[bot]|release(pump-forecaster): 1.1.0',
      'edgeship[bot]|release(pump-forecaster): 1.1.0',
      'edgeship[bot]|release(pump-forecaster): 1.1.0',
      'edgeship[bot]|rollout(pump-forecaster): 1.1.0 done',
    ]);
    const record = await world.record();
    expect(record.rollout?.status).toBe('done');
    expect(Object.keys(record.rollout?.waves ?? {})).toEqual(['canary', 'plants', 'cloud']);
    for (const target of world.config.targets)
      expect(record.targets[target.name]).toMatchObject({
        version: '1.1.0',
        digest: digest('b'),
        previous: { version: '1.0.0', digest: digest('a') },
      });
    expect(await world.show('sites/plant-north/pump-forecaster/kustomization.yaml')).toContain(
      'EDGESHIP_MODEL_VERSION=1.1.0',
    );
  });

  it('rolls a Degraded target of wave 2 back to what it ran and sends no further wave', async () => {
    const world = await newWorld();
    await deployV1(world);
    const advance = () => advanceRollout(world.deps, world.config, world.v2);
    await advance();
    await world.sync();
    world.clock.now += 15 * MIN;
    expect((await advance()).action).toMatchObject({ kind: 'apply-wave', wave: 'plants' });
    await world.sync((target) => (target === 'plant-south' ? 'Degraded' : 'Healthy'));

    const rollback = await advance();
    expect(rollback.action).toEqual({
      kind: 'rollback',
      wave: 'plants',
      targets: ['plant-south'],
      reason: 'plant-south is Degraded',
    });
    expect(rollback.status).toBe('rolled-back');
    expect(byState(rollback)).toEqual({
      'substation-east': 'success',
      'plant-north': 'inactive',
      'plant-south': 'failure',
      cloud: 'inactive',
    });
    const record = await world.record();
    expect(record.rollout).toMatchObject({ status: 'rolled-back', reason: 'plant-south is Degraded' });
    expect(record.targets['plant-south']).toMatchObject({ version: '1.0.0', digest: digest('a') });
    expect(record.targets.cloud).toMatchObject({ version: '1.0.0' });
    const overlay = await world.show('sites/plant-south/pump-forecaster/kustomization.yaml');
    expect(overlay).toContain('EDGESHIP_MODEL_VERSION=1.0.0');
    expect(overlay).toContain(`pump-forecaster@${digest('a')}`);

    world.clock.now += 60 * MIN;
    await world.sync();
    const after = await advance();
    expect(after.action).toEqual({ kind: 'finished', status: 'rolled-back' });
    expect(after.commit).toBeUndefined();
    expect((await world.subjects()).at(-1)).toBe('edgeship[bot]|rollback(pump-forecaster): 1.1.0 in wave plants');
  });

  it('respects a hold and a hand edit in the GitOps repo, and says so', async () => {
    const world = await newWorld();
    await deployV1(world);
    await world.edit(
      'models/pump-forecaster/release.yaml',
      (text) => text.replace(/(  plant-north:\n)/, '$1    hold: sensor recalibration until Friday\n'),
      'hold plant-north',
    );
    const advance = () => advanceRollout(world.deps, world.config, world.v2);
    await advance();
    // The canary is rolled back by hand: its record and overlay go back to 1.0.0.
    await world.edit(
      'models/pump-forecaster/release.yaml',
      (text) => text.replace(/(  substation-east:\n    placement: \w+\n    version: )1\.1\.0/, '$11.0.0'),
      'hand rollback of the canary',
    );
    await world.sync();
    world.clock.now += 15 * MIN;

    const plants = await advance();
    expect(plants.action).toEqual({ kind: 'apply-wave', wave: 'plants', targets: ['plant-south'] });
    const states = Object.fromEntries(plants.statuses.map((entry) => [entry.target, entry]));
    expect(states['plant-north']).toEqual({
      target: 'plant-north',
      state: 'inactive',
      description: 'held by a person: sensor recalibration until Friday',
      exception: 'held',
    });
    expect(states['substation-east']).toMatchObject({
      state: 'inactive',
      description: 'changed by hand in the GitOps repo to 1.0.0 after wave canary; edgeship leaves it',
      exception: 'changed-by-hand',
    });
    const record = await world.record();
    expect(record.targets['plant-north']).toMatchObject({
      version: '1.0.0',
      hold: 'sensor recalibration until Friday',
    });
    expect(record.targets['substation-east']).toMatchObject({ version: '1.0.0' });
    expect(await world.show('sites/plant-north/pump-forecaster/kustomization.yaml')).toContain(
      'EDGESHIP_MODEL_VERSION=1.0.0',
    );
  });

  it('lands two models racing on the same GitOps repo, with no lost update', async () => {
    const root = await tempDir();
    const world = await newWorld(root);
    const fan = parseConfig(
      (await exampleConfigText()).replace('model: pump-forecaster', 'model: fan-forecaster'),
      'fan.yml',
    );
    const fanRelease = release(world.v1, '1.0.0', 'f', 'fan-forecaster');
    const fanRepo = new GitRemoteRepo({
      remote: join(root, 'gitops.git'),
      branch: 'main',
      workdir: join(root, 'edgeship-2'),
    });
    const results = await Promise.all([
      advanceRollout(world.deps, world.config, world.v1),
      advanceRollout({ ...world.deps, gitops: fanRepo }, fan, fanRelease),
    ]);
    expect(results.map((result) => result.action)).toEqual([
      { kind: 'apply-wave', wave: 'canary', targets: ['substation-east'] },
      { kind: 'apply-wave', wave: 'canary', targets: ['substation-east'] },
    ]);
    expect((await world.record('pump-forecaster')).targets['substation-east']?.version).toBe('1.0.0');
    expect((await world.record('fan-forecaster')).targets['substation-east']?.digest).toBe(digest('f'));
    const site = await world.show('sites/substation-east/kustomization.yaml');
    expect(site).toMatch(/- (pump|fan)-forecaster\n {2}- (pump|fan)-forecaster\n/);
    expect(await world.subjects()).toHaveLength(2);
  });
});
