import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { wavesOf } from '../../src/core/config.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { DASHBOARD_LABEL } from '../../src/core/dashboard.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { example } from '../helpers/webhooks.ts';
import { FLEET_GITOPS_REPO, FLEET_MODEL_REPO, fleetConfigText, FleetRelease } from '../helpers/fleet-release.ts';

const RECORD = 'models/pump-forecaster/release.yaml';

describe('the fleet dashboard of a 10,000-site fleet', () => {
  let github: FakeGitHub;
  beforeEach(() => {
    github = new FakeGitHub();
  });
  afterEach(() => github.done());

  it(
    "counts each wave, names a degraded site, writes nothing on an unchanged tick, and acts on a writer's tick once and on a reader's never",
    { timeout: 300_000 },
    async () => {
      const world = new FleetRelease(github, 10_000, inject('exampleOutputs'));
      const [, ten] = wavesOf(parseConfig(await fleetConfigText(10_000), 'edgeship.yml'));
      await world.start();
      const model = github.repo(FLEET_MODEL_REPO);
      const board = () => {
        const [issue, ...more] = model.issues;
        expect(more).toEqual([]);
        expect(issue).toMatchObject({
          title: 'edgeship fleet: pump-forecaster',
          labels: [DASHBOARD_LABEL],
          state: 'open',
        });
        return issue!;
      };
      const sentWaves = () =>
        Object.keys(parseReleaseRecord(github.file(FLEET_GITOPS_REPO, 'main', RECORD)!, RECORD).rollout?.waves ?? {});
      const answers = () => model.comments.get(board().number)?.map((comment) => comment.body) ?? [];

      // The canary went out with the merge.
      expect(board().body).toContain('| canary | 101 |  | 101 |  |  |  | 92 edge, 9 offload |');
      expect(board().body).toContain('| ten | 900 |  |  |  | 900 |  |');
      expect(board().body).toContain('- [ ] <!-- edgeship:promote:ten --> Promote: send 1.0.0 to wave **ten** now');
      expect(board().body).toMatch(
        /pie showData title Versions across 10,001 targets\n {2}"none" : 9900\n {2}"1\.0\.0" : 101/,
      );
      expect(board().body.length).toBeLessThan(60_000);

      // A tick that finds the fleet as it was writes nothing at all.
      let before = github.calls.length;
      await world.app.tick();
      expect(github.calls.slice(before).filter(isWrite)).toEqual([]);

      // A reader's tick is undone with a short answer; nothing is sent.
      model.roles.set('reader', 'read');
      model.roles.set('writer', 'write');
      const tick = (login: string) =>
        github.editIssue(
          FLEET_MODEL_REPO,
          board().number,
          (body) => body.replace('- [ ] <!-- edgeship:promote:ten -->', '- [x] <!-- edgeship:promote:ten -->'),
          login,
        );
      tick('reader');
      await world.app.tick();
      expect(sentWaves()).toEqual(['canary']);
      expect(answers()).toEqual([
        expect.stringMatching(
          /^@reader: the boxes of the fleet dashboard act for people with write, maintain or admin permission on this repository \(yours: read\)/,
        ),
      ]);
      expect(board().body).toContain('- [ ] <!-- edgeship:promote:ten -->');

      // A writer's tick sends the next wave, once.
      tick('writer');
      await world.app.tick();
      expect(sentWaves()).toEqual(['canary', 'ten']);
      expect(answers().at(-1)).toMatch(/^@writer: sent wave \*\*ten\*\* \(900 targets: .* and 890 more\) now/);
      expect(board().body).toContain('| ten | 900 |  | 900 |  |  |  |');
      expect(board().body).toContain('- [ ] <!-- edgeship:promote:rest -->');
      before = github.calls.length;
      await world.app.tick();
      expect(sentWaves()).toEqual(['canary', 'ten']);
      expect(github.calls.slice(before).filter(isWrite)).toEqual([]);

      // One site of wave ten turns Degraded: it is rolled back, counted and named.
      const site = ten!.targets[0]!;
      world.fleet.degraded.add(site);
      await world.tick();
      const body = board().body;
      // A first release has nothing to roll back to: the rollout halts.
      expect(body).toContain(`**pump-forecaster 1.0.0** is halted`);
      expect(body).toContain('| ten | 900 | 1 |  |');
      expect(body).toContain(`- **Degraded** (1): \`${site}\``);
      expect(body).not.toContain('edgeship:promote:');
      expect(body).toContain('Nothing to act on: the rollout of 1.0.0 is halted.');
      expect(body.length).toBeLessThan(60_000);
    },
  );

  it('releases a hold from its box when the rollout is over, on the webhook of the edit', async () => {
    const world = new FleetRelease(github, 20, inject('exampleOutputs'));
    await world.run();
    const model = github.repo(FLEET_MODEL_REPO);
    model.roles.set('writer', 'write');
    // A person holds site-3 in the GitOps repo after the rollout.
    const record = github.file(FLEET_GITOPS_REPO, 'main', RECORD)!;
    github.commit(FLEET_GITOPS_REPO, 'main', {
      [RECORD]: record.replace(/( {2}site-3:\n)/, '$1    hold: sensor maintenance\n'),
    });
    const [issue] = model.issues;
    const edited = (login: string) => {
      const payload = example('issues.edited', FLEET_MODEL_REPO);
      Object.assign(payload, { changes: { body: { from: '' } }, sender: { ...payload.sender, login, type: 'User' } });
      Object.assign(payload.issue, {
        number: issue!.number,
        labels: [{ ...payload.issue.labels?.[0], name: DASHBOARD_LABEL }],
      });
      Object.assign(payload.repository, { default_branch: 'main' });
      return payload;
    };
    // Any person's edit brings the dashboard up to date: it now offers to release the hold.
    await world.app.receive('issues.edited', edited('writer'));
    await world.app.settle();
    expect(issue!.body).toContain(
      '- [ ] <!-- edgeship:release-hold:site-3 --> Release the hold on `site-3` (sensor maintenance)',
    );
    github.editIssue(
      FLEET_MODEL_REPO,
      issue!.number,
      (body) =>
        body.replace('- [ ] <!-- edgeship:release-hold:site-3 -->', '- [x] <!-- edgeship:release-hold:site-3 -->'),
      'writer',
    );
    await world.app.receive('issues.edited', edited('writer'));
    await world.app.settle();
    expect(
      parseReleaseRecord(github.file(FLEET_GITOPS_REPO, 'main', RECORD)!, RECORD).targets['site-3']?.hold,
    ).toBeUndefined();
    expect(model.comments.get(issue!.number)?.at(-1)?.body).toMatch(
      /^@writer: released the hold on `site-3` \([0-9a-f]{7}\)/,
    );
    expect(issue!.body).not.toContain('edgeship:release-hold:site-3');
    // The bot's own edit of the dashboard is delivered too, and does nothing.
    const before = github.calls.length;
    await world.app.receive(
      'issues.edited',
      Object.assign(edited('edgeship[bot]'), {
        sender: { ...edited('x').sender, login: 'edgeship[bot]', type: 'Bot' },
      }),
    );
    await world.app.settle();
    expect(github.calls.length).toBe(before);
  });

  it('acts on a tick once, and keeps as theirs a box another person ticks while it acts', async () => {
    const world = new FleetRelease(github, 20, inject('exampleOutputs'));
    await world.start();
    const model = github.repo(FLEET_MODEL_REPO);
    model.roles.set('writer', 'write');
    model.roles.set('other', 'write');
    const [issue] = model.issues;
    const tick = (box: string, login: string) =>
      github.editIssue(
        FLEET_MODEL_REPO,
        issue!.number,
        (body) => body.replace(`- [ ] <!-- edgeship:${box} -->`, `- [x] <!-- edgeship:${box} -->`),
        login,
      );
    const sent = () =>
      Object.keys(parseReleaseRecord(github.file(FLEET_GITOPS_REPO, 'main', RECORD)!, RECORD).rollout?.waves ?? {});
    tick('promote:ten', 'writer');
    // While the step acts on it (after the app read the issue, before it writes), another writer ticks a rollback.
    // The step reads the dashboard with the release (`issues(labels:`), acts, and reads it again (`issue(number:`) just before it writes.
    let ticked = false;
    github.beforeAnswer = (_call, body) => {
      if (typeof body.query !== 'string' || !body.query.includes('issue(number:') || ticked) return;
      ticked = true;
      tick('rollback:canary', 'other');
    };
    await world.app.tick();
    github.beforeAnswer = undefined;
    expect(ticked).toBe(true);
    expect(sent()).toEqual(['canary', 'ten']);
    // The promote is done and unticked; the rollback stays ticked, as the other writer's, for the next step.
    expect(issue!.body).toContain('- [ ] <!-- edgeship:promote:rest -->');
    expect(issue!.body).toContain('- [x] <!-- edgeship:rollback:canary --> <!-- edgeship:by:other -->');
    expect(issue!.editor).toEqual({ login: 'edgeship', bot: true });
    await world.app.tick();
    // The next step rolls the canary back as the other writer asked, and promotes nothing more.
    expect(model.comments.get(issue!.number)?.map((comment) => comment.body)).toEqual([
      expect.stringMatching(/^@writer: sent wave \*\*ten\*\*/),
      expect.stringMatching(/^@other: (rolled wave \*\*canary\*\*|nothing to roll back in wave \*\*canary\*\*)/),
    ]);
    expect(sent()).toEqual(['canary', 'ten']);
    expect(issue!.body).not.toContain('[x]');
  });
});
