import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import type { FleetState, FleetStatus, ModelRegistry, RegistryRelease } from '../../src/ports.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { evaluationReport, GITOPS_REPO, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { example } from '../helpers/webhooks.ts';

const MIN = 60_000;
const digest = (char: string) => `sha256:${char.repeat(64)}`;
const RECORD = 'models/pump-forecaster/release.yaml';

/** Argo CD as the app reads it, moved along by the test: `sync` is Argo CD syncing the GitOps head. */
class ScriptedFleet implements FleetStatus {
  readonly apps = new Map<string, FleetState>();
  constructor(
    private readonly github: FakeGitHub,
    private readonly clock: { now: number },
  ) {}

  async states(targets: string[]) {
    return new Map(
      targets.map((target) => [
        target,
        this.apps.get(target) ?? { sync: 'Unknown' as const, health: 'Missing' as const },
      ]),
    );
  }

  sync(health: (target: string) => FleetState['health'] = () => 'Healthy') {
    const revision = this.github.repo(GITOPS_REPO).branches.get('main') ?? '';
    for (const target of ['substation-east', 'plant-north', 'plant-south', 'cloud'])
      this.apps.set(target, { sync: 'Synced', health: health(target), revision, healthySince: this.clock.now });
  }
}

function release(base: EvaluationReport, version: string, char: string): EvaluationReport {
  return {
    ...base,
    version: { ...base.version, version },
    artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest(char)}`, digest: digest(char) },
  };
}

describe('the app rolls a merged release out', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;
  let fleet: ScriptedFleet;
  const clock = { now: Date.parse('2026-11-26T12:00:00Z') };
  let v2: EvaluationReport;

  beforeEach(async () => {
    github = new FakeGitHub();
    fleet = new ScriptedFleet(github, clock);
    world = await new ReleaseWorld(github, { fleetFor: () => fleet, now: () => clock.now }).seed();
    const base = await evaluationReport();
    await world.deployed(release(base, '1.0.0', 'a'));
    fleet.sync();
    v2 = release(base, '1.1.0', 'b');
  });
  afterEach(() => github.done());

  const merge = async () => {
    const { number, mergeSha } = world.mergedRelease(v2);
    await world.app.receive('pull_request.closed', world.merged(number, mergeSha));
    await world.app.settle();
    return number;
  };
  // A deployment without a status is pending, as GitHub shows it.
  const states = () =>
    Object.fromEntries(
      world.model.deployments.map((deployment) => [
        deployment.environment,
        deployment.statuses.at(-1)?.state ?? 'pending',
      ]),
    );
  const record = () => parseReleaseRecord(github.file(GITOPS_REPO, 'main', RECORD)!, 'release.yaml');
  const comments = (number: number) => world.model.comments.get(number)?.map((comment) => comment.body) ?? [];

  it('merges 50 Argo CD notifications that arrive together into at most two rollout steps', async () => {
    await merge();
    fleet.sync();
    clock.now += 15 * MIN;
    const before = github.calls.length;
    await world.app.tick();
    const oneStep = github.calls.length - before;
    fleet.sync();
    clock.now += 10 * MIN;
    const start = github.calls.length;
    await Promise.all(Array.from({ length: 50 }, () => world.app.nudge()));
    await world.app.settle();
    expect(record().targets.cloud?.version).toBe('1.1.0');
    expect(github.calls.length - start).toBeLessThanOrEqual(2 * oneStep);
  });

  const W = (wave: string) => `pump-forecaster/${wave}`;

  it('sends each wave once the last is Synced and Healthy through its soak, mirroring each wave in its deployment', async () => {
    const number = await merge();
    // A wave still queued has no deployment yet.
    expect(states()).toEqual({ [W('canary')]: 'pending' });
    expect(world.app.rollouts.list()).toHaveLength(1);
    expect(world.model.issues[0]?.body).toContain(
      'The next wave follows once the last one sent is Synced and Healthy through its soak time.',
    );

    await world.app.tick(); // Argo CD has not synced the release yet
    expect(record().targets['plant-north']?.version).toBe('1.0.0');
    fleet.sync();
    clock.now += 15 * MIN;
    await world.app.tick();
    expect(states()).toEqual({ [W('canary')]: 'success', [W('plants')]: 'pending' });
    fleet.sync();
    clock.now += 10 * MIN;
    await world.app.tick();
    fleet.sync();
    clock.now += 10 * MIN;
    await world.app.tick();

    expect(states()).toEqual({ [W('canary')]: 'success', [W('plants')]: 'success', [W('cloud')]: 'success' });
    expect(record().rollout?.status).toBe('done');
    expect(world.app.rollouts.list()).toHaveLength(0);
    // One status, when the wave ends: not on every tick that finds it the same.
    const deployment = world.model.deployments.find((entry) => entry.environment === W('plants'));
    expect(deployment?.description).toBe('pump-forecaster, wave plants: 1.1.0 to 2 targets: 2 rolling out');
    expect(deployment?.statuses).toEqual([{ state: 'success', description: '1.1.0 to 2 targets: 2 healthy' }]);
    // The waves in between are on the dashboard (above); the PR hears when the rollout ends.
    expect(comments(number)).toEqual([
      expect.stringMatching(
        /^Rolled pump-forecaster 1\.1\.0 out to every wave\.\n\n\| wave \| targets \| failed \| rolling out \| healthy \| waiting \| left alone \| placement \|/,
      ),
    ]);
    await world.app.tick();
    expect(comments(number)).toHaveLength(1);
  });

  it('rolls back a Degraded wave, fails those deployments, says what happened and sends no more waves', async () => {
    const number = await merge();
    fleet.sync();
    clock.now += 15 * MIN;
    await world.app.tick();
    fleet.sync((target) => (target === 'plant-north' ? 'Degraded' : 'Healthy'));
    await world.app.tick();

    expect(states()).toEqual({ [W('canary')]: 'success', [W('plants')]: 'failure', [W('cloud')]: 'inactive' });
    expect(record()).toMatchObject({
      rollout: { status: 'rolled-back', reason: 'plant-north is Degraded' },
      targets: { 'plant-north': { version: '1.0.0', digest: digest('a') }, cloud: { version: '1.0.0' } },
    });
    expect(github.file(GITOPS_REPO, 'main', 'sites/plant-north/pump-forecaster/kustomization.yaml')).toContain(
      'EDGESHIP_MODEL_VERSION=1.0.0',
    );
    expect(comments(number).at(-1)).toMatch(
      /^Rolled plant-north back in https:\/\/github\.com\/acme\/gitops\/commit\/[0-9a-f]{40}: plant-north is Degraded\. No further waves go out\./,
    );
    expect(comments(number).at(-1)).toContain('| plants | 2 | 1 |  |  |  | 1 |');
    expect(comments(number).at(-1)).toContain('- **Rolled back** (1): `plant-north`');
    expect(world.app.rollouts.list()).toHaveLength(0);
  });
});

/** A model registry in memory: versions by digest, aliases by name; `down` makes every call fail. */
class MemoryRegistry implements ModelRegistry {
  readonly versions: { digest: string; source: string; tags: Record<string, string> }[] = [];
  readonly aliases = new Map<string, string>();
  down = false;

  async ensureVersion(release: RegistryRelease) {
    if (this.down)
      throw new Error('MLflow at http://mlflow.internal/api/2.0/mlflow is unreachable: connect ECONNREFUSED');
    const known = await this.versionOf(release.model, release.digest);
    if (known) return known;
    this.versions.push({ digest: release.digest, source: release.source, tags: release.tags });
    return String(this.versions.length);
  }

  async versionOf(_model: string, digest: string) {
    const index = this.versions.findIndex((version) => version.digest === digest);
    return index < 0 ? undefined : String(index + 1);
  }

  async setAlias(_model: string, alias: string, version: string) {
    this.aliases.set(alias, version);
  }
}

describe('the model registry mirror', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;
  let fleet: ScriptedFleet;
  let registry: MemoryRegistry;
  const clock = { now: Date.parse('2026-11-26T12:00:00Z') };

  beforeEach(async () => {
    github = new FakeGitHub();
    fleet = new ScriptedFleet(github, clock);
    registry = new MemoryRegistry();
    world = await new ReleaseWorld(github, {
      fleetFor: () => fleet,
      now: () => clock.now,
      registryFor: () => registry,
    }).seed();
    const base = await evaluationReport();
    await world.deployed(release(base, '1.0.0', 'a'));
    registry.versions.push({ digest: digest('a'), source: 'v1', tags: {} });
    fleet.sync();
    const { number, mergeSha } = world.mergedRelease(release(base, '1.1.0', 'b'));
    await world.app.receive('pull_request.closed', world.merged(number, mergeSha));
    await world.app.settle();
  });
  afterEach(() => github.done());

  const step = async (health: (target: string) => 'Healthy' | 'Degraded' = () => 'Healthy') => {
    fleet.sync(health);
    clock.now += 15 * MIN;
    await world.app.tick();
  };

  it('registers the release when it goes out and points edge, cloud and production at it when it is done', async () => {
    expect(registry.versions[1]).toMatchObject({
      digest: digest('b'),
      source: `ghcr.io/acme/models/pump-forecaster@${digest('b')}`,
      tags: { 'metric.anomaly_f1': expect.any(String) as string },
    });
    expect(registry.aliases.size).toBe(0);
    await step();
    await step();
    await step();
    expect(Object.fromEntries(registry.aliases)).toEqual({ cloud: '2', edge: '2', production: '2' });
    expect(registry.versions).toHaveLength(2);
  });

  it('points the aliases back at the release the fleet returned to after a rollback', async () => {
    await step();
    await step();
    await step();
    world.model.roles.set('writer', 'write');
    await world.app.receive(
      'issue_comment.created',
      (() => {
        const payload = example('issue_comment.created', MODEL_REPO);
        Object.assign(payload.comment, {
          id: 9100,
          body: '/edgeship rollback',
          user: { ...payload.comment.user, login: 'writer', type: 'User' },
        });
        Object.assign(payload.repository, { default_branch: 'main' });
        return payload;
      })(),
    );
    await world.app.settle();
    expect(Object.fromEntries(registry.aliases)).toEqual({ cloud: '1', edge: '1', production: '1' });
  });

  it('goes on with the rollout when the registry is down, and says so once', async () => {
    registry.down = true;
    await step();
    await step();
    const comments = world.model.comments.get(world.model.pulls.length)?.map((comment) => comment.body) ?? [];
    expect(
      comments.filter((body) =>
        body.startsWith(
          'Could not mirror pump-forecaster 1.1.0 to the model registry (MLflow at http&#58;//mlflow.internal/api/2.0/mlflow is unreachable',
        ),
      ),
    ).toHaveLength(1);
    expect(parseReleaseRecord(github.file(GITOPS_REPO, 'main', RECORD)!, 'release.yaml').targets.cloud?.version).toBe(
      '1.1.0',
    );
  });
});

describe('rollout commands', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;

  beforeEach(async () => {
    github = new FakeGitHub();
    world = await new ReleaseWorld(github).seed();
    world.model.roles.set('writer', 'write');
    const base = await evaluationReport();
    await world.deployed(release(base, '1.0.0', 'a'));
    const { number, mergeSha } = world.mergedRelease(release(base, '1.1.0', 'b'));
    await world.app.receive('pull_request.closed', world.merged(number, mergeSha));
    await world.app.settle();
  });
  afterEach(() => github.done());

  let commentId = 9000;
  const command = async (body: string) => {
    const payload = example('issue_comment.created', MODEL_REPO);
    Object.assign(payload.comment, {
      id: commentId++,
      body,
      user: { ...payload.comment.user, login: 'writer', type: 'User' },
    });
    Object.assign(payload.repository, { default_branch: 'main' });
    await world.app.receive('issue_comment.created', payload);
    await world.app.settle();
    const marker = `<!-- edgeship:command:${payload.comment.id} -->`;
    return (
      world.model.comments.get(payload.issue.number)?.find((comment) => comment.body.includes(marker))?.body ?? ''
    ).replace(`\n\n${marker}`, '');
  };
  const record = () => parseReleaseRecord(github.file(GITOPS_REPO, 'main', RECORD)!, 'release.yaml');
  const overlay = (target: string) =>
    github.file(GITOPS_REPO, 'main', `sites/${target}/pump-forecaster/kustomization.yaml`) ?? '';

  it('promotes the next wave when edgeship cannot watch Argo CD', async () => {
    expect(await command('/edgeship promote')).toMatch(
      /^Sent pump-forecaster 1\.1\.0 to wave \*\*plants\*\* \(plant-north, plant-south\) in https:\/\/github\.com\/acme\/gitops\/commit\/[0-9a-f]{40}, as @writer asked in #\d+\.$/,
    );
    expect(record().targets['plant-south']?.version).toBe('1.1.0');
    expect(await command('/edgeship promote')).toMatch(/wave \*\*cloud\*\*/);
    expect(await command('/edgeship promote')).toMatch(
      /^Nothing to promote: every wave of pump-forecaster 1\.1\.0 has the release/,
    );
  });

  it('takes a command once however often GitHub delivers it: 50 redeliveries of one promote send one wave and one answer', async () => {
    const payload = example('issue_comment.created', MODEL_REPO);
    Object.assign(payload.comment, {
      id: 777,
      body: '/edgeship promote',
      user: { ...payload.comment.user, login: 'writer', type: 'User' },
    });
    Object.assign(payload.repository, { default_branch: 'main' });
    const gitopsCommits = github.repo(GITOPS_REPO).commits.size;
    await Promise.all(
      Array.from({ length: 50 }, () =>
        world.app.receive('issue_comment.created', structuredClone(payload), 'delivery-777'),
      ),
    );
    await world.app.settle();
    expect(github.repo(GITOPS_REPO).commits.size).toBe(gitopsCommits + 1);
    expect(record().targets['plant-south']?.version).toBe('1.1.0');
    expect(record().targets.cloud?.version).not.toBe('1.1.0');
    expect(
      world.model.comments
        .get(payload.issue.number)
        ?.filter((comment) => comment.body.includes('<!-- edgeship:command:777 -->')),
    ).toHaveLength(1);
  });

  it('acts on the release the default branch records, not on the release PR someone commented on last', async () => {
    // An old release PR, closed unmerged, that GitHub now lists first (its update is the newest).
    const old = world.model.pulls.length + 1;
    world.model.pulls.push({
      number: old,
      head: { ref: 'edgeship/release/pump-forecaster/1.0.1-abcdef0', sha: world.sha },
      base: { ref: 'main' },
      title: 'release(pump-forecaster): 1.0.1',
      body: '',
      state: 'closed',
      merged_at: new Date().toISOString(),
      merge_commit_sha: world.sha,
      html_url: `https://github.com/${MODEL_REPO}/pull/${old}`,
      labels: [],
      requested_teams: [],
    });
    expect(await command('/edgeship promote')).toMatch(/^Sent pump-forecaster 1\.1\.0 to wave \*\*plants\*\*/);
  });

  it('rolls one target back and holds it, then the whole release', async () => {
    await command('/edgeship promote');
    expect(await command('/edgeship rollback plant-north')).toMatch(
      /^Rolled plant-north back from 1\.1\.0 in https:\/\/github\.com\/acme\/gitops\/commit\/[0-9a-f]{40}\. It stays there \(held\)/,
    );
    expect(record().targets['plant-north']).toMatchObject({
      version: '1.0.0',
      hold: expect.stringMatching(/^rolled back as @writer asked in #\d+$/) as string,
    });
    expect(record().rollout?.status).toBe('rolling-out');
    expect(await command('/edgeship rollback')).toMatch(
      /^Rolled plant-south, substation-east back from 1\.1\.0 in .*\. No further waves go out\.$/,
    );
    expect(record()).toMatchObject({
      rollout: { status: 'rolled-back' },
      targets: { 'substation-east': { version: '1.0.0' }, 'plant-south': { version: '1.0.0' } },
    });
    expect(overlay('substation-east')).toContain('EDGESHIP_MODEL_VERSION=1.0.0');
    expect(await command('/edgeship promote')).toBe(
      'Nothing to promote: the rollout of pump-forecaster 1.1.0 has ended (rolled-back).',
    );
    expect(await command('/edgeship rollback cloud')).toMatch(/^Nothing to roll back at cloud: it runs 1\.0\.0/);
  });

  it('pins a placement now and for later releases, and unpins it', async () => {
    expect(await command('/edgeship pin plant-north offload')).toMatch(
      /^Pinned plant-north to \*\*offload\*\* in https:\/\/github\.com\/acme\/gitops\/commit\/[0-9a-f]{40}/,
    );
    expect(record().targets['plant-north']).toMatchObject({
      pin: 'offload',
      placement: 'offload',
      version: '1.0.0',
      offloadTo: 'cloud',
    });
    expect(overlay('plant-north')).toContain('../../../base/offload-forwarder');
    expect(overlay('plant-north')).toContain(
      'EDGESHIP_OFFLOAD_URL=https://models.edgeship-demo.example/pump-forecaster',
    );
    await command('/edgeship promote');
    expect(record().targets['plant-north']).toMatchObject({ placement: 'offload', version: '1.1.0' });
    expect(await command('/edgeship unpin plant-north')).toMatch(
      /^Unpinned plant-north in .*: the next release places it again\.$/,
    );
    expect(record().targets['plant-north']).not.toHaveProperty('pin');
    expect(await command('/edgeship pin cloud edge')).toBe(
      'Not done: cloud is a cloud target; only edge sites can be pinned to edge, offload or adaptive.',
    );
    expect(await command('/edgeship pin nowhere edge')).toMatch(
      /^Not done: there is no target "nowhere" in \.github\/edgeship\.yml/,
    );
    expect(await command('/edgeship pin plant-north somewhere')).toMatch(
      /expected `\/edgeship pin <target> edge\|offload\|adaptive`/,
    );
  });
});
