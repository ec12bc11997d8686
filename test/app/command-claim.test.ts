import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubScm } from '../../src/adapters/github/scm.ts';
import { claimCommand, CLAIM_EXPIRES_MS, commandMarker } from '../../src/services/bot/command-claim.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { GitHubOpenApi } from '../helpers/github-openapi.ts';
import { testProbot } from '../helpers/webhooks.ts';

const NAME = 'acme/pump-model';
const REPO = { owner: 'acme', repo: 'pump-model' };
const ISSUE = 7;
const COMMAND = 9100;

/** Replicas taking one command at once, as GitHub sees them: only comments, no lock. */
describe('claimCommand', () => {
  let github: FakeGitHub;
  const marked = () =>
    github
      .repo(NAME)
      .comments.get(ISSUE)
      ?.filter((comment) => comment.body.includes(commandMarker(COMMAND))) ?? [];
  const replica = async () => new GitHubScm(await testProbot().probot.auth(42));

  beforeEach(() => {
    github = new FakeGitHub();
    github.commit(NAME, 'main', { 'README.md': 'x' });
    github.repo(NAME).comments.set(ISSUE, [
      {
        id: COMMAND,
        body: '/edgeship retrain',
        user: { login: 'writer', type: 'User' },
        created_at: new Date().toISOString(),
      },
    ]);
  });
  afterEach(() => {
    expect(new GitHubOpenApi().check(github.answers)).toEqual([]);
    github.done();
  });

  it('gives a command to one of 12 replicas taking it at once, and leaves one comment: its answer', async () => {
    const replicas = await Promise.all(Array.from({ length: 12 }, replica));
    const claims = await Promise.all(replicas.map((scm) => claimCommand(scm, REPO, ISSUE, COMMAND, 'writer')));
    const winners = claims.filter((claim) => claim !== undefined);
    expect(winners).toHaveLength(1);
    await winners[0]?.answer('Training main again.');
    expect(marked().map((comment) => comment.body)).toEqual([`Training main again.\n\n${commandMarker(COMMAND)}`]);
    // Taken and answered: a redelivery, a resync or another replica does nothing.
    expect(await claimCommand(replicas[3] as GitHubScm, REPO, ISSUE, COMMAND, 'writer')).toBeUndefined();
  });

  it('leaves a command another replica is taking, and takes it once that claim has expired (its replica died)', async () => {
    const [dead, alive] = [await replica(), await replica()];
    expect(await claimCommand(dead, REPO, ISSUE, COMMAND, 'writer')).toBeDefined();
    expect(await claimCommand(alive, REPO, ISSUE, COMMAND, 'writer')).toBeUndefined();
    const taken = await claimCommand(alive, REPO, ISSUE, COMMAND, 'writer', {
      now: () => Date.now() + CLAIM_EXPIRES_MS + 1000,
    });
    await taken?.answer('Done.');
    expect(marked().map((comment) => comment.body)).toEqual([`Done.\n\n${commandMarker(COMMAND)}`]);
  });

  it('ignores the marker in a comment a person wrote: nobody can answer or block a command for the app', async () => {
    github
      .repo(NAME)
      .comments.get(ISSUE)
      ?.push({
        id: COMMAND + 1,
        body: `Answered already ${commandMarker(COMMAND)}`,
        user: { login: 'reader', type: 'User' },
        created_at: new Date().toISOString(),
      });
    const taken = await claimCommand(await replica(), REPO, ISSUE, COMMAND, 'writer');
    expect(taken).toBeDefined();
  });
});
