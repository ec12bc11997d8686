import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import nock from 'nock';
import { answerGraphql } from './fake-github-graphql.ts';
import { GitHubOpenApi, overExample } from './github-openapi.ts';

export interface Repo {
  commits: Map<string, Map<string, string>>;
  /** Each commit's first parent and when it was made. */
  parents: Map<string, string | undefined>;
  dates: Map<string, string>;
  branches: Map<string, string>;
  checkRuns: {
    id: number;
    app: { id: number; slug: string };
    head_sha: string;
    name: string;
    status: string;
    conclusion: string | null;
    external_id: string | null;
    output: { title: string; summary: string; text?: string | null };
    details_url?: string | null;
  }[];
  dispatches: { workflow: string; ref: string; inputs: Record<string, string> }[];
  runs: {
    id: number;
    head_sha: string;
    head_branch: string;
    status: string;
    conclusion: string | null;
    workflow: string;
    path: string;
    html_url: string;
    event: string;
    display_title: string;
  }[];
  artifacts: Map<number, { id: number; name: string; zip: Uint8Array }[]>;
  pulls: {
    number: number;
    head: { ref: string; sha: string };
    base: { ref: string };
    title: string;
    body: string;
    state: string;
    merged_at: string | null;
    merge_commit_sha: string | null;
    html_url: string;
    labels: { id: number; name: string }[];
    requested_teams?: unknown[];
  }[];
  comments: Map<
    number,
    { id: number; body: string; user?: { login: string; type: string }; created_at?: string; updated_at?: string }[]
  >;
  deployments: {
    id: number;
    ref: string;
    environment: string;
    description?: string | null;
    payload: unknown;
    created_at: string;
    statuses: { state: string; description: string }[];
  }[];
  /** Collaborators' roles by login. */
  roles: Map<string, string>;
  /** Trees by sha (the Git Data API), each a path → content map. */
  trees: Map<string, Map<string, string>>;
  /** Approving reviews a ruleset requires before a merge, by branch (`main`: 1 unless a test says otherwise). */
  reviewRules: Map<string, number>;
  /** Issues (not PRs); numbered with the PRs, as on GitHub. `editor` is who edited the body last. */
  issues: {
    number: number;
    title: string;
    body: string;
    labels: string[];
    state: string;
    editor?: { login: string; bot: boolean };
  }[];
}

export interface Call {
  method: string;
  path: string;
  /** A GraphQL call that writes. */
  mutation?: boolean;
  /** Bytes of the request body. */
  bytes?: number;
  /** A download from the storage host GitHub redirects artifacts to: not an API request, and no rate limit counts it. */
  storage?: true;
}

const API = 'https://api.github.com';
let description: GitHubOpenApi | undefined;
/** GitHub's REST description, read once per test process. */
export const described = () => (description ??= new GitHubOpenApi());
/** The app these tests run as; the GitHub Actions app is another. */
export const EDGESHIP_APP = { id: 1, slug: 'edgeship' };

/** One webhook delivery, with the fields GitHub's hook-delivery-item has. */
export interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}
export const ACTIONS_APP = { id: 15368, slug: 'github-actions' };

/** A call that creates or changes something: not a GET, not a GraphQL query, not a token. */
/** The API requests the app made: not its installation tokens, not artifact downloads from the storage host. */
export const apiCalls = (calls: readonly Call[]) =>
  calls.filter((call) => !call.storage && !call.path.includes('access_tokens'));

export const isWrite = (call: Call) =>
  call.method !== 'GET' && !(call.path === '/graphql' && !call.mutation) && !call.path.includes('access_tokens');
const BLOBS = 'https://pipelines.actions.githubusercontent.com';
/** The training workflow's `run-name`, which GitHub evaluates with the dispatch's inputs. */
const TRAIN_RUN_NAME = String(
  (
    parse(readFileSync(new URL('../../templates/workflows/edgeship-train.yml', import.meta.url), 'utf8')) as {
      'run-name': unknown;
    }
  )['run-name'],
);
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * A stateful GitHub behind nock: just enough of the REST and GraphQL APIs for edgeship, with
 * the real paths and shapes, so replays and races can be counted in what it holds.
 */
export class FakeGitHub {
  readonly calls: Call[] = [];
  /** Every GraphQL document sent, to check against GitHub's published schema. */
  readonly documents: string[] = [];
  /** Every answer the fake gave, to check against GitHub's published description. */
  readonly answers: { method: string; path: string; status: number; body: unknown }[] = [];
  /** The clock of created_at times; tests move it. */
  now = () => new Date();
  /** Installations listed besides 42 whose tokens GitHub refuses (suspended). */
  readonly suspended = new Set<number>();
  /** The app's webhook deliveries as GitHub lists them (GET /app/hook/deliveries), newest first. */
  readonly deliveries: HookDelivery[] = [];
  /** Delivery ids the app asked GitHub to deliver again. */
  readonly redeliveries: number[] = [];
  /** Delivers a webhook again when the app asks (POST /app/hook/deliveries/{id}/attempts). */
  redeliver: ((delivery: HookDelivery) => void) | undefined;

  /** A delivery GitHub made (or failed to make: `statusCode` 0 when nothing answered), `minutesAgo` before now. */
  delivered(guid: string, event: string, statusCode: number, minutesAgo: number, redelivery = false): HookDelivery {
    const delivery = {
      id: 90_000_000 + this.deliveries.length,
      guid,
      delivered_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      redelivery,
      duration: 0.2,
      status:
        statusCode === 0 ? 'Connection refused' : statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
      status_code: statusCode,
      event,
      action: null,
      installation_id: 42,
      repository_id: 1,
    };
    this.deliveries.push(delivery);
    this.deliveries.sort((a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at));
    return delivery;
  }
  /**
   * GitHub's documented secondary limits on content-creating requests per installation; a test
   * may lower them to make the app meet them. Past one, a write is answered 403 with retry-after.
   */
  readonly limits = { perMinute: 80, perHour: 500 };
  /** Called with each request before it is answered: a test's way to act at that moment (a person's edit between two reads). */
  beforeAnswer: ((call: Call, body: Record<string, unknown>) => void) | undefined;
  /** Requests to answer with a 500 once each, as a GitHub that fails (or an app that dies) at that point. */
  readonly failOnce: { method: string; path: RegExp }[] = [];
  /** The retry-after of each 403 the secondary limits answered, in seconds. */
  readonly throttled: number[] = [];
  /** Simulated time for the secondary limits, in ms: it moves on by each retry-after the fake tells a client to wait. */
  private simulatedMs = 0;
  /** When each accepted content-creating request came, in simulated ms. */
  private readonly writesAt: number[] = [];
  private readonly repos = new Map<string, Repo>();
  private nextId = 1000;

  constructor() {
    // Read GitHub's description now, in the test's setup, not inside the first answer.
    described();
    nock.disableNetConnect();
    this.intercept();
  }

  repo(fullName: string): Repo {
    let repo = this.repos.get(fullName);
    if (!repo) {
      repo = {
        commits: new Map(),
        parents: new Map(),
        dates: new Map(),
        branches: new Map(),
        checkRuns: [],
        dispatches: [],
        runs: [],
        artifacts: new Map(),
        pulls: [],
        comments: new Map(),
        deployments: [],
        roles: new Map(),
        trees: new Map(),
        issues: [],
        reviewRules: new Map([['main', 1]]),
      };
      this.repos.set(fullName, repo);
    }
    return repo;
  }

  /** Commits files on top of a branch (creating it) and returns the new sha. */
  commit(fullName: string, branch: string, files: Record<string, string>): string {
    const repo = this.repo(fullName);
    const parent = repo.branches.get(branch);
    const tree = new Map(parent ? repo.commits.get(parent) : []);
    for (const [path, content] of Object.entries(files)) tree.set(path, content);
    const sha = sha1(`${parent ?? ''}\n${JSON.stringify([...tree])}\n${this.nextId++}`);
    repo.commits.set(sha, tree);
    repo.parents.set(sha, parent);
    repo.dates.set(sha, new Date().toISOString());
    repo.branches.set(branch, sha);
    return sha;
  }

  file(fullName: string, ref: string, path: string): string | undefined {
    const repo = this.repo(fullName);
    return repo.commits.get(repo.branches.get(ref) ?? ref)?.get(path);
  }

  /** Whether the repository exists (the app is installed there): GitHub answers others as not found. */
  has(fullName: string): boolean {
    return this.repos.has(fullName);
  }

  /** Opens a PR as GitHub does, or says why it would refuse (REST and GraphQL alike). */
  openPull(
    fullName: string,
    spec: { head: string; base: string; title: string; body: string },
  ): Repo['pulls'][number] | { refused: string } {
    if (spec.title.length > 256) return { refused: `title is too long (maximum is 256 characters)` };
    if (spec.body.length > 65_536) return { refused: `body is too long (maximum is 65536 characters)` };
    const repo = this.repo(fullName);
    if (!repo.branches.has(spec.base)) return { refused: 'Base ref must be a branch' };
    if (!repo.branches.has(spec.head))
      return {
        refused: `Head sha can't be blank, Base sha can't be blank, No commits between ${spec.base} and ${spec.head}, Head ref must be a branch`,
      };
    if (repo.branches.get(spec.head) === repo.branches.get(spec.base))
      return { refused: `No commits between ${spec.base} and ${spec.head}` };
    if (repo.pulls.some((pull) => pull.head.ref === spec.head && pull.state === 'open'))
      return { refused: `A pull request already exists for ${fullName.split('/')[0]}:${spec.head}.` };
    const number = this.nextNumber(fullName);
    const pull = {
      number,
      head: { ref: spec.head, sha: repo.branches.get(spec.head) ?? '' },
      base: { ref: spec.base },
      title: spec.title,
      body: spec.body,
      state: 'open',
      merged_at: null,
      merge_commit_sha: null,
      html_url: `https://github.com/${fullName}/pull/${number}`,
      labels: [] as { id: number; name: string }[],
      requested_teams: [],
    };
    repo.pulls.push(pull);
    return pull;
  }

  /** The next issue or PR number of a repository: they share one sequence on GitHub. */
  nextNumber(fullName: string): number {
    const repo = this.repo(fullName);
    return repo.pulls.length + repo.issues.length + 1;
  }

  /** A person edits an issue's body (ticks a box), as GitHub records it: they are its last editor. */
  editIssue(fullName: string, number: number, edit: (body: string) => string, login: string): void {
    const issue = this.repo(fullName).issues.find((candidate) => candidate.number === number);
    if (!issue) throw new Error(`no issue #${number}`);
    issue.body = edit(issue.body);
    issue.editor = { login, bot: false };
  }

  addRun(
    fullName: string,
    run: {
      head_sha: string;
      head_branch: string;
      status: string;
      workflow: string;
      conclusion?: string;
      event?: string;
      display_title?: string;
    },
  ): number {
    const id = this.nextId++;
    const conclusion = run.conclusion ?? (run.status === 'completed' ? 'success' : null);
    this.repo(fullName).runs.push({
      id,
      event: 'workflow_dispatch',
      display_title: 'edgeship train',
      ...run,
      conclusion,
      path: `.github/workflows/${run.workflow}`,
      html_url: `https://github.com/${fullName}/actions/runs/${id}`,
    });
    return id;
  }

  /** A completed check run, made by the edgeship app unless `app` says another. */
  addCheckRun(
    fullName: string,
    run: { head_sha: string; name: string; external_id: string | null; app?: { id: number; slug: string } },
  ): void {
    const { app = EDGESHIP_APP, ...rest } = run;
    this.repo(fullName).checkRuns.push({
      id: this.nextId++,
      app,
      ...rest,
      status: 'completed',
      conclusion: 'success',
      output: { title: '', summary: '' },
    });
  }

  addArtifact(fullName: string, runId: number, name: string, zip: Uint8Array): void {
    const repo = this.repo(fullName);
    repo.artifacts.set(runId, [...(repo.artifacts.get(runId) ?? []), { id: this.nextId++, name, zip }]);
  }

  /**
   * The push GitHub sends when `branch` moves from `before` to its head: one commit entry with
   * the files added, modified and removed, as a push payload's `commits` lists them.
   */
  pushOf(fullName: string, branch: string, before: string) {
    const repo = this.repo(fullName);
    const after = repo.branches.get(branch) ?? '';
    const [old, now] = [
      repo.commits.get(before) ?? new Map<string, string>(),
      repo.commits.get(after) ?? new Map<string, string>(),
    ];
    const added = [...now.keys()].filter((path) => !old.has(path));
    const modified = [...now.keys()].filter((path) => old.has(path) && old.get(path) !== now.get(path));
    const removed = [...old.keys()].filter((path) => !now.has(path));
    return { ref: `refs/heads/${branch}`, before, after, commits: [{ id: after, added, modified, removed }] };
  }

  /** Merges a PR: a merge commit on the base with the head's files. */
  merge(fullName: string, number: number): string {
    const repo = this.repo(fullName);
    const pull = repo.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new Error(`no PR #${number}`);
    pull.head.sha = repo.branches.get(pull.head.ref) ?? pull.head.sha;
    const head = repo.commits.get(pull.head.sha) ?? new Map<string, string>();
    const sha = this.commit(fullName, pull.base.ref, Object.fromEntries(head));
    pull.state = 'closed';
    pull.merged_at = new Date().toISOString();
    pull.merge_commit_sha = sha;
    return sha;
  }

  /**
   * Seconds a content-creating request must wait under the secondary limits (80 a minute and 500
   * an hour per installation, in simulated time), or undefined when it may go now and is counted.
   */
  private secondaryLimit(): number | undefined {
    const now = this.simulatedMs;
    const since = (ms: number) => this.writesAt.filter((at) => at > now - ms);
    const [minute, hour] = [since(60_000), since(3_600_000)];
    const free = [
      minute.length >= this.limits.perMinute
        ? (minute[minute.length - this.limits.perMinute] as number) + 60_000
        : undefined,
      hour.length >= this.limits.perHour ? (hour[hour.length - this.limits.perHour] as number) + 3_600_000 : undefined,
    ];
    const until = Math.max(...free.map((at) => at ?? -Infinity));
    if (until === -Infinity) {
      this.writesAt.push(now);
      return undefined;
    }
    const seconds = Math.max(1, Math.ceil((until - now) / 1000));
    this.throttled.push(seconds);
    // The client is told to wait: simulated time passes as it does.
    this.simulatedMs += seconds * 1000;
    return seconds;
  }

  /** The simulated seconds the secondary limits made clients wait. */
  get waitedSeconds(): number {
    return this.throttled.reduce((sum, seconds) => sum + seconds, 0);
  }

  count(method: string, pattern: RegExp): number {
    return this.calls.filter((call) => call.method === method && pattern.test(call.path)).length;
  }

  done(): void {
    nock.cleanAll();
    nock.enableNetConnect();
  }

  private intercept(): void {
    const api = nock(API).persist();
    const route = (
      method: 'get' | 'post' | 'patch' | 'delete',
      path: RegExp,
      handler: (
        match: RegExpExecArray,
        body: Record<string, unknown>,
        url: URL,
      ) => [number, unknown, Record<string, string>?],
    ) => {
      const withQuery = new RegExp(path.source.replace(/\$$/, '(?:\\?.*)?$'));
      api[method](withQuery).reply((uri, body) => {
        const url = new URL(uri, API);
        const decoded = decodeURIComponent(url.pathname);
        const parsed = (typeof body === 'string' && body ? JSON.parse(body) : (body ?? {})) as Record<string, unknown>;
        const bytes =
          typeof body === 'string' ? Buffer.byteLength(body) : body ? Buffer.byteLength(JSON.stringify(body)) : 0;
        const call = {
          method: method.toUpperCase(),
          path: decoded,
          bytes,
          ...(decoded === '/graphql' && { mutation: /^\s*mutation/.test(String(parsed.query)) }),
        };
        this.calls.push(call);
        if (decoded === '/graphql') this.documents.push(String(parsed.query));
        this.beforeAnswer?.(call, parsed);
        const failing = this.failOnce.findIndex(
          (failure) => failure.method === call.method && failure.path.test(decoded),
        );
        if (failing >= 0) {
          this.failOnce.splice(failing, 1);
          const failed = { message: 'Server Error' };
          this.answers.push({ method: call.method, path: url.pathname, status: 500, body: failed });
          return [500, failed] as [number, unknown];
        }
        const wait = isWrite(call) ? this.secondaryLimit() : undefined;
        if (wait !== undefined) {
          const limited = {
            message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          };
          this.answers.push({ method: call.method, path: url.pathname, status: 403, body: limited });
          return [403, limited, { 'retry-after': String(wait) }] as [number, unknown, Record<string, string>];
        }
        const match = path.exec(url.pathname) ?? path.exec(decoded);
        const [status, own, headers] = handler(match as RegExpExecArray, parsed, url);
        // What the fake does not model comes from GitHub's own example of the answer.
        const shaped =
          status < 300 ? overExample(described().example(method.toUpperCase(), url.pathname, status), own) : own;
        this.answers.push({ method: method.toUpperCase(), path: url.pathname, status, body: structuredClone(shaped) });
        return [status, shaped, headers] as [number, unknown, Record<string, string>?];
      });
    };
    const R = '/repos/([^/]+)/([^/]+)';
    const repoOf = (match: RegExpExecArray) => this.repo(`${match[1]}/${match[2]}`);
    const notFound: [number, unknown] = [404, { message: 'Not Found' }];
    /** One page of a list as GitHub pages it: per_page up to 100 (30 by default), a Link header to the next and last pages. */
    const paged = <T>(url: URL, items: readonly T[]): { items: T[]; headers: Record<string, string> } => {
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30)));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(items.length / perPage));
      const at = (number: number) => {
        const link = new URL(url.href.replace(/^https?:\/\/[^/]+/, API));
        link.searchParams.set('page', String(number));
        link.searchParams.set('per_page', String(perPage));
        return link.href;
      };
      const links = [
        ...(page < last ? [`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`] : []),
        ...(page > 1 ? [`<${at(1)}>; rel="first"`, `<${at(page - 1)}>; rel="prev"`] : []),
      ];
      return {
        items: items.slice((page - 1) * perPage, page * perPage),
        headers: links.length > 0 ? { link: links.join(', ') } : {},
      };
    };
    /** GitHub's 422 for a text over its limit, or undefined when every field is within it. */
    const tooLong = (
      resource: string,
      fields: [name: string, value: unknown, limit: number][],
    ): [number, unknown] | undefined => {
      const over = fields.find(([, value, limit]) => typeof value === 'string' && value.length > limit);
      if (!over) return undefined;
      const [field, , limit] = over;
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [
            { resource, code: 'custom', field, message: `${field} is too long (maximum is ${limit} characters)` },
          ],
          documentation_url: 'https://docs.github.com/rest',
        },
      ];
    };
    const output = (body: Record<string, unknown>) =>
      (body.output ?? {}) as { title?: unknown; summary?: unknown; text?: unknown };
    // GitHub answers an output without text with `text: null`, not with its example's text.
    const checkOutput = (given: unknown) =>
      ({ text: null, ...(given as object) }) as Repo['checkRuns'][number]['output'];

    route('post', /^\/app\/installations\/(\d+)\/access_tokens$/, (match) =>
      this.suspended.has(Number(match[1]))
        ? [403, { message: 'This installation has been suspended' }]
        : [201, { token: 'ghs_test', expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} }],
    );
    // Deliveries page by cursor, as GitHub's do: a Link to the next page carries `cursor`.
    route('get', /^\/app\/hook\/deliveries$/, (_match, _body, url) => {
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30)));
      const offset = Number(/^v1_(\d+)$/.exec(url.searchParams.get('cursor') ?? '')?.[1] ?? 0);
      const items = this.deliveries.slice(offset, offset + perPage);
      const next: Record<string, string> =
        offset + perPage < this.deliveries.length
          ? { link: `<${API}/app/hook/deliveries?per_page=${perPage}&cursor=v1_${offset + perPage}>; rel="next"` }
          : {};
      return [200, items, next];
    });
    route('post', /^\/app\/hook\/deliveries\/(\d+)\/attempts$/, (match) => {
      const delivery = this.deliveries.find((candidate) => candidate.id === Number(match[1]));
      if (!delivery) return [404, { message: 'Not Found' }];
      this.redeliveries.push(delivery.id);
      // GitHub lists the attempt as a delivery of its own, marked as a redelivery (here: answered),
      // and makes it: a test that delivers webhooks itself does it in `redeliver`.
      this.delivered(delivery.guid, delivery.event, 200, 0, true);
      this.redeliver?.(delivery);
      return [202, {}];
    });
    route('get', /^\/app\/installations$/, () => [
      200,
      [
        ...[...this.suspended].map((id) => ({ id, account: { login: `suspended-${id}` } })),
        { id: 42, account: { login: 'acme' } },
      ],
    ]);
    route('get', new RegExp(`^${R}/commits/([0-9a-f]{40})$`), (match) => {
      const repo = repoOf(match);
      const tree = repo.commits.get(match[3] as string);
      if (!tree) return [422, { message: 'No commit found for SHA' }];
      const parent = repo.commits.get(repo.parents.get(match[3] as string) ?? '') ?? new Map<string, string>();
      const changed = [...new Set([...tree.keys(), ...parent.keys()])].filter(
        (path) => tree.get(path) !== parent.get(path),
      );
      const date = repo.dates.get(match[3] as string);
      return [
        200,
        {
          sha: match[3],
          commit: { author: { date }, committer: { date } },
          files: changed.map((filename) => ({
            filename,
            status: !parent.has(filename) ? 'added' : !tree.has(filename) ? 'removed' : 'modified',
          })),
        },
      ];
    });
    // Rulesets' rules for a branch: a pull_request rule where the repo requires reviews there.
    route('get', new RegExp(`^${R}/rules/branches/(.+)$`), (match) => {
      const reviews = repoOf(match).reviewRules.get(decodeURIComponent(match[3] as string));
      const rule = {
        type: 'pull_request',
        ruleset_source_type: 'Repository',
        ruleset_source: `${match[1]}/${match[2]}`,
        ruleset_id: 7,
        parameters: {
          required_approving_review_count: reviews ?? 0,
          dismiss_stale_reviews_on_push: true,
          require_code_owner_review: false,
          require_last_push_approval: true,
          required_review_thread_resolution: false,
          allowed_merge_methods: ['merge', 'squash', 'rebase'],
        },
      };
      return [200, reviews === undefined ? [] : [rule]];
    });
    route('get', new RegExp(`^${R}/installation$`), (match) =>
      this.repos.has(`${match[1]}/${match[2]}`)
        ? [200, { id: 42, account: { login: match[1] }, app_id: EDGESHIP_APP.id }]
        : notFound,
    );
    route('get', new RegExp(`^${R}$`), (match) =>
      this.repos.has(`${match[1]}/${match[2]}`)
        ? [
            200,
            {
              name: match[2],
              full_name: `${match[1]}/${match[2]}`,
              owner: { login: match[1] },
              default_branch: 'main',
              language: null,
              template_repository: null,
              fork: false,
              parent: undefined,
              source: undefined,
            },
          ]
        : notFound,
    );
    route('get', /^\/installation\/repositories$/, (_match, _body, url) => {
      const repositories = [...this.repos.keys()].map((fullName) => {
        const [owner, name] = fullName.split('/') as [string, string];
        const branches = this.repo(fullName).branches;
        return {
          name,
          full_name: fullName,
          owner: { login: owner },
          default_branch: branches.has('main') ? 'main' : [...branches.keys()][0],
        };
      });
      const { items, headers } = paged(url, repositories);
      return [200, { total_count: repositories.length, repositories: items }, headers];
    });
    route('get', new RegExp(`^${R}/contents/(.+)$`), (match, _body, url) => {
      const repo = repoOf(match);
      const ref = url.searchParams.get('ref') ?? 'main';
      const content = repo.commits.get(repo.branches.get(ref) ?? ref)?.get(decodeURIComponent(match[3] as string));
      return content === undefined
        ? notFound
        : [200, { type: 'file', encoding: 'base64', content: Buffer.from(content).toString('base64') }];
    });
    route('get', new RegExp(`^${R}/git/ref/(.+)$`), (match) => {
      const sha = repoOf(match).branches.get(decodeURIComponent(match[3] as string).replace(/^heads\//, ''));
      return sha ? [200, { object: { sha, type: 'commit' } }] : notFound;
    });
    route('post', new RegExp(`^${R}/git/refs$`), (match, body) => {
      const repo = repoOf(match);
      const branch = String(body.ref).replace(/^refs\/heads\//, '');
      if (repo.branches.has(branch)) return [422, { message: 'Reference already exists' }];
      repo.branches.set(branch, String(body.sha));
      return [201, { ref: body.ref, object: { sha: body.sha } }];
    });
    // The Git Data API: commits and trees by sha, and a ref update that must fast-forward unless forced.
    const apiOf = (match: RegExpExecArray) => `https://api.github.com/repos/${match[1]}/${match[2]}`;
    const treeOf = (repo: Repo, files: Map<string, string>) => {
      const sha = sha1(`tree\n${JSON.stringify([...files].sort(([a], [b]) => a.localeCompare(b)))}`);
      repo.trees.set(sha, files);
      return sha;
    };
    const gitCommit = (match: RegExpExecArray, sha: string, message: string) => {
      const repo = repoOf(match);
      const parent = repo.parents.get(sha);
      const date = repo.dates.get(sha) ?? new Date().toISOString();
      const person = { name: 'edgeship[bot]', email: 'edgeship[bot]@users.noreply.github.com', date };
      return {
        sha,
        node_id: `C_${sha.slice(0, 12)}`,
        url: `${apiOf(match)}/git/commits/${sha}`,
        html_url: `https://github.com/${match[1]}/${match[2]}/commit/${sha}`,
        author: person,
        committer: person,
        message,
        tree: {
          sha: treeOf(repo, repo.commits.get(sha) ?? new Map<string, string>()),
          url: `${apiOf(match)}/git/trees/${sha}`,
        },
        parents: parent
          ? [
              {
                sha: parent,
                url: `${apiOf(match)}/git/commits/${parent}`,
                html_url: `https://github.com/${match[1]}/${match[2]}/commit/${parent}`,
              },
            ]
          : [],
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      };
    };
    route('get', new RegExp(`^${R}/git/commits/([0-9a-f]{40})$`), (match) =>
      repoOf(match).commits.has(match[3] as string) ? [200, gitCommit(match, match[3] as string, '')] : notFound,
    );
    route('post', new RegExp(`^${R}/git/trees$`), (match, body) => {
      const repo = repoOf(match);
      const base = typeof body.base_tree === 'string' ? repo.trees.get(body.base_tree) : new Map<string, string>();
      if (!base) return [422, { message: 'Invalid tree info' }];
      const entries = body.tree as { path: string; mode: string; type: string; content: string }[];
      const files = new Map(base);
      for (const entry of entries) files.set(entry.path, entry.content);
      const sha = treeOf(repo, files);
      return [
        201,
        {
          sha,
          url: `${apiOf(match)}/git/trees/${sha}`,
          truncated: false,
          tree: entries.map((entry) => ({
            path: entry.path,
            mode: entry.mode,
            type: entry.type,
            sha: sha1(`blob\n${entry.content}`),
            size: Buffer.byteLength(entry.content),
            url: `${apiOf(match)}/git/blobs/${sha1(`blob\n${entry.content}`)}`,
          })),
        },
      ];
    });
    route('post', new RegExp(`^${R}/git/commits$`), (match, body) => {
      const repo = repoOf(match);
      const files = repo.trees.get(String(body.tree));
      if (!files) return [422, { message: 'Tree SHA does not exist' }];
      const [parent] = body.parents as string[];
      const sha = sha1(`${parent ?? ''}\n${String(body.tree)}\n${this.nextId++}`);
      repo.commits.set(sha, new Map(files));
      repo.parents.set(sha, parent);
      repo.dates.set(sha, new Date().toISOString());
      return [201, gitCommit(match, sha, String(body.message))];
    });
    route('delete', new RegExp(`^${R}/git/refs/(.+)$`), (match) => {
      const branch = decodeURIComponent(match[3] as string).replace(/^heads\//, '');
      return repoOf(match).branches.delete(branch) ? [204, ''] : [422, { message: 'Reference does not exist' }];
    });
    route('patch', new RegExp(`^${R}/git/refs/(.+)$`), (match, body) => {
      const repo = repoOf(match);
      const branch = decodeURIComponent(match[3] as string).replace(/^heads\//, '');
      const head = repo.branches.get(branch);
      if (!head) return [422, { message: 'Reference does not exist' }];
      const sha = String(body.sha);
      let ancestor: string | undefined = sha;
      while (ancestor && ancestor !== head) ancestor = repo.parents.get(ancestor);
      if (!body.force && ancestor !== head) return [422, { message: 'Update is not a fast forward' }];
      repo.branches.set(branch, sha);
      return [
        200,
        {
          ref: `refs/heads/${branch}`,
          node_id: `REF_${sha.slice(0, 12)}`,
          url: `${apiOf(match)}/git/refs/heads/${branch}`,
          object: { type: 'commit', sha, url: `${apiOf(match)}/git/commits/${sha}` },
        },
      ];
    });
    route('post', /^\/graphql$/, (_match, body) => [
      200,
      answerGraphql(this, String(body.query), (body.variables ?? {}) as Record<string, unknown>),
    ]);
    route('get', new RegExp(`^${R}/commits/([^/]+)/check-runs$`), (match, _body, url) => {
      const appId = url.searchParams.get('app_id');
      const all = repoOf(match)
        .checkRuns.filter(
          (run) =>
            run.head_sha === match[3] &&
            run.name === url.searchParams.get('check_name') &&
            (!appId || run.app.id === Number(appId)),
        )
        .reverse();
      // `filter=latest` (GitHub's default) answers the newest run of each name and app; `all`, every one.
      const runs =
        url.searchParams.get('filter') === 'all'
          ? all
          : all.filter(
              (run, index) =>
                all.findIndex((other) => other.name === run.name && other.app.id === run.app.id) === index,
            );
      const { items, headers } = paged(url, runs);
      return [200, { total_count: runs.length, check_runs: items }, headers];
    });
    route('post', new RegExp(`^${R}/check-runs$`), (match, body) => {
      const refused = tooLong('CheckRun', [
        ['name', body.name, 255],
        ['summary', output(body).summary, 65_535],
        ['text', output(body).text, 65_535],
      ]);
      if (refused) return refused;
      // Check runs belong to the app whose token made them: in these tests, app 1 (edgeship).
      const run = {
        id: this.nextId++,
        app: EDGESHIP_APP,
        head_sha: String(body.head_sha),
        name: String(body.name),
        status: String(body.status),
        conclusion: (body.conclusion as string) ?? null,
        external_id: (body.external_id as string) ?? null,
        output: checkOutput(body.output),
        details_url: typeof body.details_url === 'string' ? body.details_url : null,
      };
      repoOf(match).checkRuns.push(run);
      return [201, run];
    });
    route('patch', new RegExp(`^${R}/check-runs/(\\d+)$`), (match, body) => {
      const refused = tooLong('CheckRun', [
        ['summary', output(body).summary, 65_535],
        ['text', output(body).text, 65_535],
      ]);
      if (refused) return refused;
      const run = repoOf(match).checkRuns.find((candidate) => candidate.id === Number(match[3]));
      if (!run) return notFound;
      Object.assign(run, {
        status: body.status ?? run.status,
        conclusion: body.conclusion ?? run.conclusion,
        external_id: body.external_id ?? run.external_id,
        output: body.output ? checkOutput(body.output) : run.output,
        details_url: body.details_url ?? run.details_url,
      });
      return [200, run];
    });
    route('post', new RegExp(`^${R}/actions/workflows/([^/]+)/dispatches$`), (match, body) => {
      const repo = repoOf(match);
      const workflow = match[3] as string;
      const ref = String(body.ref);
      const inputs = body.inputs as Record<string, string>;
      repo.dispatches.push({ workflow, ref, inputs });
      // GitHub queues a run of the branch's head, named by the workflow's `run-name`.
      this.addRun(`${match[1]}/${match[2]}`, {
        head_sha: repo.branches.get(ref) ?? inputs.sha ?? '',
        head_branch: ref,
        status: 'queued',
        workflow,
        event: 'workflow_dispatch',
        display_title: TRAIN_RUN_NAME.replace(
          /\$\{\{ inputs\.(\w+) \}\}/g,
          (_whole, name: string) => inputs[name] ?? '',
        ),
      });
      return [204, ''];
    });
    route('get', new RegExp(`^${R}/actions/workflows/([^/]+)/runs$`), (match, _body, url) => {
      const event = url.searchParams.get('event');
      const runs = repoOf(match)
        .runs.filter(
          (run) =>
            run.workflow === match[3] &&
            run.head_branch === url.searchParams.get('branch') &&
            (!event || run.event === event),
        )
        .reverse();
      const { items, headers } = paged(url, runs);
      // `workflow` is the fake's own bookkeeping: GitHub's run names its workflow by path and id.
      return [
        200,
        {
          total_count: runs.length,
          workflow_runs: items.map((run) =>
            Object.fromEntries(Object.entries(run).filter(([key]) => key !== 'workflow')),
          ),
        },
        headers,
      ];
    });
    route('get', new RegExp(`^${R}/actions/runs/(\\d+)/artifacts$`), (match, _body, url) => {
      const artifacts = (repoOf(match).artifacts.get(Number(match[3])) ?? []).filter(
        (artifact) => artifact.name === url.searchParams.get('name'),
      );
      return [
        200,
        {
          total_count: artifacts.length,
          artifacts: artifacts.map((artifact) => ({ id: artifact.id, name: artifact.name, expired: false })),
        },
      ];
    });
    route('get', new RegExp(`^${R}/actions/artifacts/(\\d+)/zip$`), (match) => [
      302,
      '',
      { location: `${BLOBS}/artifacts/${match[1]}/${match[2]}/${match[3]}.zip` },
    ]);
    nock(BLOBS)
      .persist()
      .get(/^\/artifacts\/([^/]+)\/([^/]+)\/(\d+)\.zip$/)
      .reply((uri) => {
        const [, owner, name, id] = /^\/artifacts\/([^/]+)\/([^/]+)\/(\d+)\.zip$/.exec(uri) as RegExpExecArray;
        this.calls.push({ method: 'GET', path: uri, storage: true });
        const artifact = [...this.repo(`${owner}/${name}`).artifacts.values()]
          .flat()
          .find((candidate) => candidate.id === Number(id));
        return artifact ? [200, Buffer.from(artifact.zip), { 'content-type': 'application/zip' }] : [404, ''];
      });
    route('get', new RegExp(`^${R}/pulls$`), (match, _body, url) => {
      const head = url.searchParams.get('head')?.split(':')[1];
      const state = url.searchParams.get('state') ?? 'open';
      const repo = repoOf(match);
      // An open PR's head follows its branch, as on GitHub; a closed one keeps the head it had.
      for (const pull of repo.pulls)
        if (pull.state === 'open') pull.head.sha = repo.branches.get(pull.head.ref) ?? pull.head.sha;
      const pulls = repo.pulls
        .filter((pull) => (!head || pull.head.ref === head) && (state === 'all' || pull.state === state))
        .reverse();
      const { items, headers } = paged(url, pulls);
      return [200, items, headers];
    });
    route('post', new RegExp(`^${R}/pulls$`), (match, body) => {
      const refused = tooLong('PullRequest', [
        ['title', body.title, 256],
        ['body', body.body, 65_536],
      ]);
      if (refused) return refused;
      const pull = this.openPull(`${match[1]}/${match[2]}`, {
        head: String(body.head),
        base: String(body.base),
        title: String(body.title),
        body: String(body.body),
      });
      return 'refused' in pull ? [422, { message: pull.refused }] : [201, pull];
    });
    route('patch', new RegExp(`^${R}/pulls/(\\d+)$`), (match, body) => {
      const refused = tooLong('PullRequest', [
        ['title', body.title, 256],
        ['body', body.body, 65_536],
      ]);
      if (refused) return refused;
      const pull = repoOf(match).pulls.find((candidate) => candidate.number === Number(match[3]));
      if (!pull) return notFound;
      Object.assign(pull, {
        title: body.title ?? pull.title,
        body: body.body ?? pull.body,
        state: body.state ?? pull.state,
      });
      return [200, pull];
    });
    route('post', new RegExp(`^${R}/issues/(\\d+)/labels$`), (match, body) => {
      const pull = repoOf(match).pulls.find((candidate) => candidate.number === Number(match[3]));
      const labels = (body.labels as string[]).map((name) => ({
        id: this.nextId++,
        node_id: `LA_${name}`,
        url: `${API}/repos/${match[1]}/${match[2]}/labels/${encodeURIComponent(name)}`,
        name,
        description: 'Release PRs opened by edgeship',
        color: 'ededed',
        default: false,
      }));
      pull?.labels.push(...labels);
      return [200, pull?.labels ?? labels];
    });
    route('get', new RegExp(`^${R}/collaborators/([^/]+)/permission$`), (match) => {
      const role = repoOf(match).roles.get(match[3] as string) ?? 'none';
      const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
      return [200, { permission, role_name: role, user: { login: match[3], role_name: role } }];
    });
    const commentAnswer = (
      match: RegExpExecArray,
      issue: number,
      comment: Repo['comments'] extends Map<number, (infer C)[]> ? C : never,
    ) => ({
      id: comment.id,
      body: comment.body,
      user: comment.user ?? { login: 'someone', type: 'User' },
      created_at: comment.created_at ?? this.now().toISOString(),
      updated_at: comment.updated_at ?? comment.created_at ?? this.now().toISOString(),
      issue_url: `${API}/repos/${match[1]}/${match[2]}/issues/${issue}`,
      reactions: {
        url: '',
        total_count: 0,
        '+1': 0,
        '-1': 0,
        laugh: 0,
        confused: 0,
        heart: 0,
        hooray: 0,
        eyes: 0,
        rocket: 0,
      },
    });
    route('get', new RegExp(`^${R}/issues/(\\d+)/comments$`), (match, _body, url) => {
      const { items, headers } = paged(url, repoOf(match).comments.get(Number(match[3])) ?? []);
      return [200, items.map((comment) => commentAnswer(match, Number(match[3]), comment)), headers];
    });
    route('get', new RegExp(`^${R}/issues/comments$`), (match, _body, url) => {
      const since = Date.parse(url.searchParams.get('since') ?? '1970-01-01T00:00:00Z');
      const all = [...repoOf(match).comments.entries()].flatMap(([issue, comments]) =>
        comments.map((comment) => ({ issue, comment })),
      );
      const { items, headers } = paged(
        url,
        all.filter(({ comment }) => Date.parse(comment.created_at ?? '') >= since),
      );
      return [200, items.map(({ issue, comment }) => commentAnswer(match, issue, comment)), headers];
    });
    const commentById = (match: RegExpExecArray) => {
      for (const [issue, comments] of repoOf(match).comments) {
        const index = comments.findIndex((comment) => comment.id === Number(match[3]));
        if (index !== -1) return { issue, comments, index };
      }
      return undefined;
    };
    route('patch', new RegExp(`^${R}/issues/comments/(\\d+)$`), (match, body) => {
      const refused = tooLong('IssueComment', [['body', body.body, 65_536]]);
      if (refused) return refused;
      const found = commentById(match);
      const comment = found?.comments[found.index];
      if (!found || !comment) return notFound;
      Object.assign(comment, { body: String(body.body), updated_at: this.now().toISOString() });
      return [200, commentAnswer(match, found.issue, comment)];
    });
    route('delete', new RegExp(`^${R}/issues/comments/(\\d+)$`), (match) => {
      const found = commentById(match);
      if (!found) return notFound;
      found.comments.splice(found.index, 1);
      return [204, ''];
    });
    route('post', new RegExp(`^${R}/issues/(\\d+)/comments$`), (match, body) => {
      const refused = tooLong('IssueComment', [['body', body.body, 65_536]]);
      if (refused) return refused;
      const repo = repoOf(match);
      const comment = {
        id: this.nextId++,
        body: String(body.body),
        user: { login: 'edgeship[bot]', type: 'Bot' },
        created_at: this.now().toISOString(),
      };
      repo.comments.set(Number(match[3]), [...(repo.comments.get(Number(match[3])) ?? []), comment]);
      return [201, comment];
    });
    const issueAnswer = (match: RegExpExecArray, issue: Repo['issues'][number]) => ({
      id: issue.number + 500_000,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      html_url: `https://github.com/${match[1]}/${match[2]}/issues/${issue.number}`,
      labels: issue.labels.map((name) => ({
        id: 1,
        node_id: `LA_${name}`,
        url: `${API}/repos/${match[1]}/${match[2]}/labels/${encodeURIComponent(name)}`,
        name,
        description: null,
        color: 'ededed',
        default: false,
      })),
      user: { login: 'edgeship[bot]', type: 'Bot' },
      // An issue has no pull_request key (GitHub's example is a PR's, whose key says so).
      pull_request: undefined,
    });
    route('get', new RegExp(`^${R}/issues$`), (match, _body, url) => {
      const labels = url.searchParams.get('labels')?.split(',') ?? [];
      const state = url.searchParams.get('state') ?? 'open';
      const issues = repoOf(match)
        .issues.filter(
          (issue) =>
            labels.every((label) => issue.labels.includes(label)) && (state === 'all' || issue.state === state),
        )
        .reverse();
      const { items, headers } = paged(url, issues);
      return [200, items.map((issue) => issueAnswer(match, issue)), headers];
    });
    route('post', new RegExp(`^${R}/issues$`), (match, body) => {
      const refused = tooLong('Issue', [
        ['title', body.title, 256],
        ['body', body.body, 65_536],
      ]);
      if (refused) return refused;
      const issue = {
        number: this.nextNumber(`${match[1]}/${match[2]}`),
        title: String(body.title),
        body: typeof body.body === 'string' ? body.body : '',
        labels: (body.labels as string[] | undefined) ?? [],
        state: 'open',
      };
      repoOf(match).issues.push(issue);
      return [201, issueAnswer(match, issue)];
    });
    route('patch', new RegExp(`^${R}/issues/(\\d+)$`), (match, body) => {
      const refused = tooLong('Issue', [
        ['title', body.title, 256],
        ['body', body.body, 65_536],
      ]);
      if (refused) return refused;
      const issue = repoOf(match).issues.find((candidate) => candidate.number === Number(match[3]));
      if (!issue) return notFound;
      Object.assign(issue, {
        body: body.body ?? issue.body,
        title: body.title ?? issue.title,
        state: body.state ?? issue.state,
        editor: { login: EDGESHIP_APP.slug, bot: true },
      });
      return [200, issueAnswer(match, issue)];
    });
    route('get', new RegExp(`^${R}/deployments$`), (match, _body, url) => {
      const environment = url.searchParams.get('environment');
      // The statuses are the fake's own bookkeeping: GitHub lists them at /statuses, not on the deployment.
      const ref = url.searchParams.get('ref');
      const matching = repoOf(match).deployments.filter(
        (deployment) => (!ref || deployment.ref === ref) && (!environment || deployment.environment === environment),
      );
      // Newest first, as GitHub lists them.
      const { items, headers } = paged(url, matching.reverse());
      return [200, items.map(deploymentAnswer), headers];
    });
    route('get', new RegExp(`^${R}/deployments/(\\d+)/statuses$`), (match, _body, url) => {
      const deployment = repoOf(match).deployments.find((candidate) => candidate.id === Number(match[3]));
      if (!deployment) return notFound;
      const { items, headers } = paged(url, [...deployment.statuses].reverse());
      return [200, items, headers];
    });
    route('post', new RegExp(`^${R}/deployments$`), (match, body) => {
      const refused = tooLong('Deployment', [['description', body.description, 140]]);
      if (refused) return refused;
      const deployment = {
        id: this.nextId++,
        ref: String(body.ref),
        environment: String(body.environment),
        description: typeof body.description === 'string' ? body.description : null,
        payload: body.payload,
        created_at: this.now().toISOString(),
        statuses: [],
      };
      repoOf(match).deployments.push(deployment);
      return [201, deploymentAnswer(deployment)];
    });
    route('post', new RegExp(`^${R}/deployments/(\\d+)/statuses$`), (match, body) => {
      const refused = tooLong('DeploymentStatus', [['description', body.description, 140]]);
      if (refused) return refused;
      const deployment = repoOf(match).deployments.find((candidate) => candidate.id === Number(match[3]));
      if (!deployment) return notFound;
      deployment.statuses.push({ state: String(body.state), description: String(body.description) });
      return [201, { id: this.nextId++, state: body.state }];
    });
  }
}

/** A deployment as GitHub answers it: its statuses are listed at /statuses, not on it. */
function deploymentAnswer(deployment: Repo['deployments'][number]) {
  return {
    id: deployment.id,
    ref: deployment.ref,
    environment: deployment.environment,
    description: deployment.description ?? null,
    payload: deployment.payload,
    created_at: deployment.created_at,
    updated_at: deployment.created_at,
  };
}
