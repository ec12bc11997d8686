import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Probot, ProbotOctokit } from 'probot';
import { EdgeshipOctokit } from '../../src/app/octokit.ts';
import { privateKey } from '../helpers/webhooks.ts';

const API = 'https://api.github.com';

/** The app's octokit with waits scaled from seconds to milliseconds. */
const octokit = () =>
  new EdgeshipOctokit({
    auth: 'ghs_test',
    throttle: { retryAfterBaseValue: 1, fallbackSecondaryRateRetryAfter: 1 },
    retry: { retryAfterBaseValue: 1 },
  });

describe('EdgeshipOctokit', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it.each([
    [
      'a secondary rate limit with retry-after (Probot alone gives up)',
      403,
      { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      { 'retry-after': '1' },
    ],
    ['a secondary rate limit without retry-after', 403, { message: 'You have exceeded a secondary rate limit.' }, {}],
    [
      'a primary rate limit',
      403,
      { message: 'API rate limit exceeded' },
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)) },
    ],
    ['429 Too Many Requests', 429, { message: 'Too many requests' }, { 'retry-after': '1' }],
    ['502 Bad Gateway', 502, { message: 'Server Error' }, {}],
  ])('retries %s', async (_case, status, body, headers) => {
    nock(API)
      .get('/repos/acme/model/git/ref/heads%2Fmain')
      .reply(status, body, headers)
      .get('/repos/acme/model/git/ref/heads%2Fmain')
      .reply(200, { object: { sha: 'abc' } });
    const { data } = await octokit().rest.git.getRef({ owner: 'acme', repo: 'model', ref: 'heads/main' });
    expect(data.object.sha).toBe('abc');
  });

  it('gives up on a secondary rate limit after three retries', async () => {
    const limited = { message: 'You have exceeded a secondary rate limit.' };
    nock(API).get('/repos/acme/model/git/ref/heads%2Fmain').times(4).reply(403, limited, { 'retry-after': '1' });
    await expect(octokit().rest.git.getRef({ owner: 'acme', repo: 'model', ref: 'heads/main' })).rejects.toMatchObject({
      status: 403,
    });
  });

  it('does not retry a 404', async () => {
    nock(API).get('/repos/acme/model/git/ref/heads%2Fgone').reply(404, { message: 'Not Found' });
    await expect(octokit().rest.git.getRef({ owner: 'acme', repo: 'model', ref: 'heads/gone' })).rejects.toMatchObject({
      status: 404,
    });
  });

  describe('inside Probot, for an installation', () => {
    const scaled = (Base: typeof ProbotOctokit) =>
      Base.defaults((options: Record<string, unknown>) => ({
        ...options,
        throttle: { ...(options.throttle as object), retryAfterBaseValue: 1 },
      }));
    const limitedOnce = () =>
      nock(API)
        .post('/app/installations/42/access_tokens')
        .reply(201, { token: 'ghs_test', expires_at: new Date(Date.now() + 3600_000).toISOString() })
        .get('/repos/acme/model/git/ref/heads%2Fmain')
        .reply(403, { message: 'You have exceeded a secondary rate limit.' }, { 'retry-after': '1' });

    it("retries a secondary rate limit with the app's octokit", async () => {
      limitedOnce()
        .get('/repos/acme/model/git/ref/heads%2Fmain')
        .reply(200, { object: { sha: 'abc' } });
      const installation = await new Probot({
        appId: 1,
        privateKey,
        logLevel: 'fatal',
        Octokit: scaled(EdgeshipOctokit),
      }).auth(42);
      expect(
        (await installation.rest.git.getRef({ owner: 'acme', repo: 'model', ref: 'heads/main' })).data.object.sha,
      ).toBe('abc');
    });

    it("is needed: Probot's own octokit gives up on it", async () => {
      limitedOnce();
      const installation = await new Probot({
        appId: 1,
        privateKey,
        logLevel: 'fatal',
        Octokit: scaled(ProbotOctokit),
      }).auth(42);
      await expect(
        installation.rest.git.getRef({ owner: 'acme', repo: 'model', ref: 'heads/main' }),
      ).rejects.toMatchObject({ status: 403 });
    });
  });
});
