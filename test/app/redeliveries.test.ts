import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redeliverFailed } from '../../src/app/redeliveries.ts';
import { SILENT } from '../../src/ports.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { GitHubOpenApi } from '../helpers/github-openapi.ts';
import { testProbot } from '../helpers/webhooks.ts';

describe('the redelivery sweep', () => {
  let github: FakeGitHub;
  beforeEach(() => {
    github = new FakeGitHub();
  });
  afterEach(() => github.done());

  it('asks GitHub once for each webhook it failed to deliver in the window, paging past 100 deliveries', async () => {
    // 140 delivered fine over the last two hours; among them, what went wrong while the app was down.
    for (let index = 0; index < 140; index += 1) github.delivered(`ok-${index}`, 'push', 200, index);
    const lost = github.delivered('lost', 'pull_request', 0, 130);
    github.delivered('lost-twice', 'push', 502, 131);
    github.delivered('lost-twice', 'push', 503, 132);
    github.delivered('recovered', 'push', 0, 133);
    github.delivered('recovered', 'push', 200, 100, true);
    github.delivered('retried-and-failed', 'issue_comment', 0, 134);
    github.delivered('retried-and-failed', 'issue_comment', 0, 120, true);
    github.delivered('too-old', 'push', 0, 7 * 60);
    const { probot } = testProbot();
    const asked = new Set<string>();
    expect(await redeliverFailed(probot, { log: SILENT, asked })).toBe(2);
    expect(github.redeliveries.sort()).toEqual(
      [
        lost.id,
        github.deliveries.find((delivery) => delivery.guid === 'lost-twice' && delivery.status_code === 502)?.id,
      ].sort(),
    );
    // The pages read: 100, then the rest up to the first delivery older than the window.
    expect(github.count('GET', /^\/app\/hook\/deliveries$/)).toBe(2);
    // A second sweep before GitHub lists the new attempts asks for nothing again.
    expect(await redeliverFailed(probot, { log: SILENT, asked })).toBe(0);
    // Another replica's sweep (a new leader) sees the attempts GitHub lists and asks for nothing either.
    expect(
      github.deliveries.filter((delivery) => delivery.redelivery && ['lost', 'lost-twice'].includes(delivery.guid)),
    ).toHaveLength(2);
    expect(await redeliverFailed(probot, { log: SILENT, asked: new Set() })).toBe(0);
    expect(github.redeliveries).toHaveLength(2);
    // The fake's deliveries and attempts are in the shapes GitHub's OpenAPI description gives.
    expect(new GitHubOpenApi().check(github.answers)).toEqual([]);
  });
});
