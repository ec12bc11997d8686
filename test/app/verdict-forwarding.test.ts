import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verdictEndpoint, VERDICTS_PATH, type VerdictLeadership } from '../../src/app/verdict-endpoint.ts';
import { VerdictBook } from '../../src/core/analysis.ts';
import { siteDriftToken } from '../../src/core/training-run.ts';
import { freePort } from '../helpers/registry.ts';

const SECRET = 'drift-secret-of-the-app';
const REPO = 'acme/pump-model';

/** One replica of the app: its book, its endpoint on loopback, and how many POSTs reached it. */
async function replica(leadership: VerdictLeadership) {
  const book = new VerdictBook();
  const endpoint = verdictEndpoint(SECRET, book, leadership);
  const seen = { posts: 0 };
  const server: Server = createServer((request, response) => {
    seen.posts += 1;
    if (!endpoint(request, response)) response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { book, server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const post = (url: string, interval: number, token = siteDriftToken(SECRET, REPO, 'pump-forecaster', 'site-7')) =>
  fetch(`${url}${VERDICTS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      repo: REPO,
      model: 'pump-forecaster',
      version: '1.1.0',
      site: 'site-7',
      interval,
      requests: 120,
      errors: 0,
      p99Ms: 4.5,
      verdict: 'passed',
    }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as object }));

const passed = (book: VerdictBook) =>
  book.summary(REPO, 'pump-forecaster', '1.1.0', ['site-7']).get('site-7')?.passed ?? 0;

describe('analysis verdicts with replicas of the app', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const started = async (leadership: VerdictLeadership) => {
    const made = await replica(leadership);
    servers.push(made.server);
    return made;
  };

  it('records a verdict sent to a follower in the leader’s book, once, and only after the follower checked its token', async () => {
    const leader = await started({ isLeader: true, leaderAddress: undefined });
    const follower = await started({ isLeader: false, leaderAddress: leader.url });
    expect(await post(follower.url, 40)).toEqual({ status: 202, body: { recorded: true } });
    expect([passed(leader.book), passed(follower.book)]).toEqual([1, 0]);
    // The same interval again, through either replica: recorded once.
    expect(await post(follower.url, 40)).toEqual({ status: 202, body: { recorded: false } });
    expect(await post(leader.url, 40)).toEqual({ status: 202, body: { recorded: false } });
    expect(await post(leader.url, 41)).toEqual({ status: 202, body: { recorded: true } });
    expect(passed(leader.book)).toBe(2);
    // A forged token stops at the follower: the leader never hears of it.
    const before = leader.seen.posts;
    expect((await post(follower.url, 42, 'forged')).status).toBe(401);
    expect(leader.seen.posts).toBe(before);
  });

  it('answers 503 while no leader is known or the leader cannot be reached, so the site sends the verdict again', async () => {
    const between = await started({ isLeader: false, leaderAddress: undefined });
    const gone = await started({ isLeader: false, leaderAddress: `http://127.0.0.1:${await freePort()}` });
    for (const follower of [between, gone]) {
      const answer = await post(follower.url, 50);
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ error: expect.stringMatching(/send it again shortly$/) as string });
      expect(passed(follower.book)).toBe(0);
    }
  });

  it('records a handed-on verdict where it lands when the leader moved meanwhile, instead of sending it round again', async () => {
    // The follower still points at `second`, which has just lost the Lease to `first`.
    const first = await started({ isLeader: true, leaderAddress: undefined });
    const second = await started({ isLeader: false, leaderAddress: first.url });
    const follower = await started({ isLeader: false, leaderAddress: second.url });
    expect(await post(follower.url, 60)).toEqual({ status: 202, body: { recorded: true } });
    expect([passed(follower.book), passed(second.book), passed(first.book)]).toEqual([0, 1, 0]);
    expect(first.seen.posts).toBe(0);
  });
});
