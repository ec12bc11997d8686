import { schema as graphqlSchema } from '@octokit/graphql-schema';
import { buildClientSchema, parse, validate, type IntrospectionQuery } from 'graphql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubScm } from '../../src/adapters/github/scm.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { GitHubOpenApi } from '../helpers/github-openapi.ts';
import { evaluationReport, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { example } from '../helpers/webhooks.ts';

/**
 * A fake is only as good as its faithfulness: the answers the fake GitHub gives in a whole
 * release (push, training, release PR, merge, commands, resync) are checked against GitHub's
 * published REST description.
 */
describe('the fake GitHub', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;

  beforeEach(async () => {
    github = new FakeGitHub();
    world = await new ReleaseWorld(github).seed();
  });
  afterEach(() => github.done());

  it("answers in the shapes of GitHub's OpenAPI description through a whole release", async () => {
    const { app } = world;
    await app.receive('push', world.push());
    await app.settle();
    await app.receive('workflow_run.completed', world.runCompleted(await world.finishRun()));
    await app.settle();
    const before = world.model.branches.get('main')!;
    const mergeSha = github.merge(MODEL_REPO, 1);
    await app.receive('pull_request.closed', world.merged(1, mergeSha));
    await app.receive('push', world.pushed('main', before));
    await app.settle();
    world.model.roles.set('writer', 'write');
    const comment = example('issue_comment.created', MODEL_REPO);
    Object.assign(comment.comment, {
      id: 4242,
      body: '/edgeship promote',
      user: { ...comment.comment.user, login: 'writer', type: 'User' },
    });
    Object.assign(comment.repository, { default_branch: 'main' });
    await app.receive('issue_comment.created', comment);
    await app.settle();
    const { number, mergeSha: second } = world.mergedRelease({
      ...(await evaluationReport()),
      version: { version: '1.1.0', bump: 'minor', reason: 'better' },
    });
    await app.receive('pull_request.closed', world.merged(number, second));
    await app.settle();

    const problems = new GitHubOpenApi().check(github.answers);
    expect(github.answers.length).toBeGreaterThan(30);
    expect(problems).toEqual([]);

    // Every GraphQL document the app sent is valid against GitHub's published schema.
    const schema = buildClientSchema(graphqlSchema.json as unknown as IntrospectionQuery);
    expect(new Set(github.documents.map((document) => document.split('(')[0]?.trim()))).toEqual(
      new Set(['query', 'mutation']),
    );
    expect(
      github.documents.flatMap((document) =>
        validate(schema, parse(document)).map((error) => `${error.message} in ${document}`),
      ),
    ).toEqual([]);
  });

  it("answers an unknown repository's GraphQL query with NOT_FOUND, as GitHub does, and the app says it cannot read it", async () => {
    const scm = new GitHubScm(await world.app.probot.auth(42));
    await expect(scm.readFiles({ owner: 'acme', repo: 'missing' }, ['a.yaml'], 'main')).rejects.toThrow(
      'acme/missing is not readable by the app (is it installed there?)',
    );
  });
});
