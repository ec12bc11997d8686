import { unzipSync } from 'fflate';
import { LRUCache } from 'lru-cache';
import type { ProbotOctokit } from 'probot';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import { fitWithin, GITHUB_LIMITS } from '../../core/github-limits.ts';
import type {
  CheckRunUpdate,
  DeploymentSpec,
  FileWrite,
  IssueComment,
  NewPullRequest,
  PullRequestInfo,
  PullRequestSpec,
  RepoAnswers,
  RepoQuestions,
  RepoRef,
  Scm,
} from '../../ports.ts';
import { FILES_PER_QUERY, OPEN_PULL_REQUEST, queryRepository, type Blob } from './repo-query.ts';
import { repoName } from '../../core/formats.ts';

type Octokit = InstanceType<typeof ProbotOctokit>;

/** GitHub's largest page. */
const PAGE = 100;
/** Pages of a branch's dispatched runs read when looking for one run key (dispatchedRun). */
const DISPATCHED_PAGES = 10;
/** Closed pull requests read at most, newest updated first: the releases a resync can still act on. */
const RECENT_CLOSED = 300;

const title = (text: string) => fitWithin(text, GITHUB_LIMITS.title);
const body = (text: string) => fitWithin(text, GITHUB_LIMITS.body);
const checkOutput = (text: string) => fitWithin(text, GITHUB_LIMITS.checkOutput);
const deploymentText = (text: string) => fitWithin(text, GITHUB_LIMITS.deploymentDescription);

/** What the app inflates of a run's report artifact: a report is kilobytes, these leave room and stop bombs. */
export const ZIP_LIMITS = {
  zipBytes: 32 * 1024 ** 2,
  entries: 64,
  entryBytes: 16 * 1024 ** 2,
  totalBytes: 64 * 1024 ** 2,
};

/** Scm over GitHub's REST and GraphQL APIs, with an installation's octokit. */
/** What one createCommitOnBranch request carries at most; beyond, the Git Data API. */
const ONE_REQUEST = { files: 500, bytes: 4 * 2 ** 20 };
/** Entries per tree request: GitHub documents no cap, and TREE_BYTES bounds the request's size. */
const TREE_CHUNK = 2000;
const TREE_BYTES = 4 * 2 ** 20;

/** Files in groups of at most TREE_CHUNK entries and about TREE_BYTES bytes: one tree request each. */
function treeChunks(files: readonly FileWrite[]): FileWrite[][] {
  const chunks: FileWrite[][] = [];
  let chunk: FileWrite[] = [];
  let size = 0;
  for (const file of files) {
    const bytes = Buffer.byteLength(file.content);
    if (chunk.length > 0 && (chunk.length >= TREE_CHUNK || size + bytes > TREE_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(file);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export interface GitHubScmOptions {
  /** What the event already says: the default branch of its repository (the payload's `repository.default_branch`). */
  defaultBranch?: { repo: RepoRef; branch: string };
  /** Files read at a commit sha, kept across events (commitContents): a commit never changes. */
  contents?: CommitContents;
  /** Above these, a commit goes through the Git Data API (see commitOnBranch). */
  oneRequest?: typeof ONE_REQUEST;
}

/** Files at commits, by repository, sha and path; `null` is a file the commit does not have. */
export type CommitContents = LRUCache<string, { text: string | null }>;

/** A cache of files at commits for one app, bounded by the characters it holds. */
export const commitContents = (maxChars = 16 * 2 ** 20): CommitContents =>
  new LRUCache({ maxSize: maxChars, sizeCalculation: (entry) => Math.max(1, entry.text?.length ?? 1) });

const COMMIT_SHA = /^[0-9a-f]{40}$/;
const repoKey = (repo: RepoRef) => repoName(repo).toLowerCase();

export class GitHubScm implements Scm {
  private readonly oneRequest: typeof ONE_REQUEST;
  private readonly defaultBranches = new Map<string, string>();
  /** Repositories' node ids, as a query told them: GraphQL mutations name a repository by it. */
  private readonly ids = new Map<string, string>();

  /** `appId`: this app's id, so checks are read only from the runs this app made (not a workflow token's). */
  constructor(
    private readonly octokit: Octokit,
    private readonly appId?: number,
    private readonly options: GitHubScmOptions = {},
  ) {
    this.oneRequest = options.oneRequest ?? ONE_REQUEST;
    if (options.defaultBranch)
      this.defaultBranches.set(repoKey(options.defaultBranch.repo), options.defaultBranch.branch);
  }

  /** One GraphQL query; a list longer than a page is read again through REST, which pages. */
  async ask(repo: RepoRef, questions: RepoQuestions): Promise<RepoAnswers> {
    const ref = questions.files?.ref ?? '';
    const atCommit = COMMIT_SHA.test(ref) ? this.options.contents : undefined;
    const files = new Map<string, string | undefined>();
    const unread: string[] = [];
    for (const path of questions.files?.paths ?? []) {
      const cached = atCommit?.get(`${repoKey(repo)}@${ref}:${path}`);
      if (cached) files.set(path, cached.text ?? undefined);
      else unread.push(path);
    }
    const asked: RepoQuestions = { ...questions, files: { ref, paths: unread } };
    const { id, blobs, answers, truncated } = await queryRepository(this.octokit, repo, asked, this.appId);
    this.ids.set(repoKey(repo), id);
    for (const [path, blob] of blobs) files.set(path, await this.blobText(repo, path, ref, blob));
    if (unread.length > FILES_PER_QUERY) await this.queryFiles(repo, unread.slice(FILES_PER_QUERY), ref, files);
    // Files at a branch were read with its head in the same query: they are the files at that commit.
    const commit = atCommit ? ref : questions.branch === ref ? answers.branchHead : undefined;
    if (commit)
      for (const path of unread)
        this.options.contents?.set(`${repoKey(repo)}@${commit}:${path}`, { text: files.get(path) ?? null });
    if (truncated.pulls && questions.openPulls !== undefined)
      answers.openPulls = await this.listPullRequests(repo, questions.openPulls);
    if (truncated.check && questions.check) {
      // Past a page of check runs (a commit retrained over 100 times): every one, paged, so a
      // trigger finds its key however many came since.
      const runs = await this.octokit.paginate(this.octokit.rest.checks.listForRef, {
        ...repo,
        ref: questions.check.sha,
        check_name: questions.check.name,
        filter: 'all',
        per_page: PAGE,
        ...(this.appId !== undefined && { app_id: this.appId }),
      });
      const own = runs.filter((candidate) => this.appId === undefined || candidate.app?.id === this.appId);
      const newest = own.reduce<(typeof own)[number] | undefined>(
        (found, candidate) => (!found || candidate.id > found.id ? candidate : found),
        undefined,
      );
      answers.check = newest
        ? {
            id: newest.id,
            status: newest.status,
            conclusion: newest.conclusion,
            externalId: newest.external_id,
            keys: own.flatMap((run) => (run.external_id ? [run.external_id] : [])),
            queued: own.flatMap((run) =>
              run.status === 'queued' && run.external_id ? [{ id: run.id, key: run.external_id }] : [],
            ),
          }
        : null;
    }
    // Past a page of labelled issues, the caller looks for its issue step by step.
    if (truncated.issues) delete answers.issues;
    return { files, ...answers };
  }

  /** createRef, createCommitOnBranch and createPullRequest in one GraphQL request. */
  async openPullRequest(
    repo: RepoRef,
    spec: NewPullRequest,
  ): Promise<(PullRequestInfo & { created: true }) | undefined> {
    const bytes = spec.files.reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);
    if (spec.files.length > this.oneRequest.files || bytes > this.oneRequest.bytes) return undefined;
    if (!this.ids.has(repoKey(repo))) await this.ask(repo, {});
    const repositoryId = this.ids.get(repoKey(repo));
    const [headline = '', ...rest] = spec.message.split('\n');
    try {
      const data = await this.octokit.graphql<{
        createCommitOnBranch: { commit: { oid: string } };
        createPullRequest: { pullRequest: { number: number; url: string } };
      }>(OPEN_PULL_REQUEST, {
        ref: { repositoryId, name: `refs/heads/${spec.head}`, oid: spec.baseSha },
        commit: {
          branch: { repositoryNameWithOwner: repoName(repo), branchName: spec.head },
          expectedHeadOid: spec.baseSha,
          message: { headline, body: rest.join('\n').trim() },
          fileChanges: {
            additions: spec.files.map((file) => ({
              path: file.path,
              contents: Buffer.from(file.content).toString('base64'),
            })),
          },
        },
        pull: {
          repositoryId,
          baseRefName: spec.base,
          headRefName: spec.head,
          title: title(spec.title),
          body: body(spec.body),
        },
      });
      const { number, url } = data.createPullRequest.pullRequest;
      return {
        number,
        url,
        state: 'open',
        merged: false,
        head: spec.head,
        headSha: data.createCommitOnBranch.commit.oid,
        base: spec.base,
        created: true,
      };
    } catch (error) {
      const errors = (error as { errors?: { path?: string[]; message?: string }[] }).errors;
      if (!errors) throw error;
      const refused = errors.find((entry) => entry.path?.[0] === 'createRef');
      // The branch was there before: what is on it is for the step-by-step way to find.
      if (refused && /already exists/i.test(refused.message ?? '')) return undefined;
      // The branch is this request's, half made: take it back, so nothing is left and a retry starts clean.
      if (!refused) await this.octokit.rest.git.deleteRef({ ...repo, ref: `heads/${spec.head}` }).catch(notFound);
      throw new EdgeshipError(
        `GitHub did not open the pull request from ${spec.head}: ${errors.map((entry) => `${entry.path?.join('.') ?? 'request'}: ${entry.message ?? ''}`).join('; ')}`,
        { cause: error },
      );
    }
  }

  /** A file at a commit sha is read from GitHub once per app; at a branch, every time. */
  async readFile(repo: RepoRef, path: string, ref: string): Promise<string | undefined> {
    const key = COMMIT_SHA.test(ref) ? `${repoKey(repo)}@${ref}:${path}` : undefined;
    const cached = key === undefined ? undefined : this.options.contents?.get(key);
    if (cached) return cached.text ?? undefined;
    const text = await this.fetchFile(repo, path, ref);
    if (key !== undefined) this.options.contents?.set(key, { text: text ?? null });
    return text;
  }

  /** A blob GraphQL read; GraphQL gives up on large or binary blobs, which the contents API reads. */
  private async blobText(
    repo: RepoRef,
    path: string,
    ref: string,
    blob: Blob | null | undefined,
  ): Promise<string | undefined> {
    if (!blob) return undefined;
    return blob.isTruncated || blob.isBinary || blob.text === null ? this.fetchFile(repo, path, ref) : blob.text;
  }

  private async fetchFile(repo: RepoRef, path: string, ref: string): Promise<string | undefined> {
    const response = await this.octokit.rest.repos.getContent({ ...repo, path, ref }).catch(notFound);
    if (!response) return undefined;
    const data = response.data;
    if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
      throw new EdgeshipError(`${repoName(repo)}:${path} at ${ref} is not a file`);
    }
    return Buffer.from(data.content, 'base64').toString('utf8');
  }

  async readFiles(repo: RepoRef, paths: readonly string[], ref: string): Promise<Map<string, string | undefined>> {
    const files = new Map<string, string | undefined>();
    const atCommit = COMMIT_SHA.test(ref) ? this.options.contents : undefined;
    const unread: string[] = [];
    for (const path of paths) {
      const cached = atCommit?.get(`${repoKey(repo)}@${ref}:${path}`);
      if (cached) files.set(path, cached.text ?? undefined);
      else unread.push(path);
    }
    await this.queryFiles(repo, unread, ref, files);
    if (atCommit)
      for (const path of unread) atCommit.set(`${repoKey(repo)}@${ref}:${path}`, { text: files.get(path) ?? null });
    return files;
  }

  private async queryFiles(
    repo: RepoRef,
    paths: readonly string[],
    ref: string,
    files: Map<string, string | undefined>,
  ): Promise<void> {
    for (let start = 0; start < paths.length; start += FILES_PER_QUERY) {
      const chunk = paths.slice(start, start + FILES_PER_QUERY);
      const variables = Object.fromEntries(chunk.map((path, index) => [`e${index}`, `${ref}:${path}`]));
      const fields = chunk
        .map((_, index) => `f${index}: object(expression: $e${index}) { ... on Blob { text isTruncated isBinary } }`)
        .join('\n');
      const declarations = chunk.map((_, index) => `$e${index}: String!`).join(', ');
      const data = await this.octokit
        .graphql<{
          repository: Record<
            string,
            { text: string | null; isTruncated: boolean; isBinary: boolean | null } | null
          > | null;
        }>(
          `query($owner: String!, $name: String!, ${declarations}) { repository(owner: $owner, name: $name) { ${fields} } }`,
          { owner: repo.owner, name: repo.repo, ...variables },
        )
        .catch((error: { errors?: { type?: string }[] }) => {
          // GitHub answers a repository the app cannot see with NOT_FOUND, not with null data.
          if (error.errors?.some((entry) => entry.type === 'NOT_FOUND')) return { repository: null };
          throw error;
        });
      if (!data.repository)
        throw new EdgeshipError(`${repoName(repo)} is not readable by the app (is it installed there?)`);
      await Promise.all(
        chunk.map(async (path, index) => {
          files.set(path, await this.blobText(repo, path, ref, data.repository?.[`f${index}`]));
        }),
      );
    }
  }

  async branchHead(repo: RepoRef, branch: string): Promise<string | undefined> {
    const response = await this.octokit.rest.git.getRef({ ...repo, ref: `heads/${branch}` }).catch(notFound);
    return response?.data.object.sha;
  }

  /** The event's word for its own repository, else GitHub's, once per Scm (an event's life). */
  async defaultBranch(repo: RepoRef): Promise<string> {
    const known = this.defaultBranches.get(repoKey(repo));
    if (known !== undefined) return known;
    const branch = (await this.octokit.rest.repos.get({ ...repo })).data.default_branch;
    this.defaultBranches.set(repoKey(repo), branch);
    return branch;
  }

  /** A GitHub without rulesets (an older GitHub Enterprise Server) answers 404: no rule is known then. */
  async reviewRule(repo: RepoRef, branch: string) {
    const rules =
      (await this.octokit
        .paginate(this.octokit.rest.repos.getBranchRules, { ...repo, branch, per_page: PAGE })
        .catch(notFound)) ?? [];
    const reviews = rules.flatMap((rule) =>
      rule.type === 'pull_request' && rule.parameters
        ? [{ reviews: rule.parameters.required_approving_review_count, source: rule.ruleset_source ?? 'a ruleset' }]
        : [],
    );
    return reviews.filter((rule) => rule.reviews > 0).sort((a, b) => b.reviews - a.reviews)[0];
  }

  async commitChanges(repo: RepoRef, sha: string): Promise<{ date: string; files: string[] | undefined }> {
    const { data } = await this.octokit.rest.repos.getCommit({ ...repo, ref: sha, per_page: 300 });
    const files = data.files ?? [];
    // GitHub lists at most 300 files on the first page: beyond that, say nothing rather than part.
    return {
      date: data.commit.committer?.date ?? data.commit.author?.date ?? '',
      files: files.length < 300 ? files.map((file) => file.filename) : undefined,
    };
  }

  async findCheckRun(repo: RepoRef, sha: string, name: string) {
    const run = await this.latestCheckRun(repo, sha, name);
    return run && { id: run.id, status: run.status, conclusion: run.conclusion, externalId: run.external_id };
  }

  private async latestCheckRun(repo: RepoRef, sha: string, name: string) {
    const runs = await this.octokit.paginate(this.octokit.rest.checks.listForRef, {
      ...repo,
      ref: sha,
      check_name: name,
      filter: 'latest',
      per_page: PAGE,
      ...(this.appId !== undefined && { app_id: this.appId }),
    });
    return runs.find((candidate) => this.appId === undefined || candidate.app?.id === this.appId);
  }

  /** Creates the check run, or updates it when it says something else: a replayed event writes nothing. */
  async ensureCheckRun(repo: RepoRef, check: CheckRunUpdate): Promise<number> {
    // `id: null`: the caller knows there is none (it just made the commit, or looked).
    const existing = check.id === undefined ? await this.latestCheckRun(repo, check.headSha, check.name) : undefined;
    const output = {
      title: title(check.title),
      summary: checkOutput(check.summary),
      ...(check.text && { text: checkOutput(check.text) }),
    };
    if (
      existing &&
      existing.status === check.status &&
      existing.conclusion === (check.conclusion ?? null) &&
      (check.externalId === undefined || existing.external_id === check.externalId) &&
      (check.detailsUrl === undefined || existing.details_url === check.detailsUrl) &&
      existing.output.title === output.title &&
      existing.output.summary === output.summary &&
      (existing.output.text ?? undefined) === output.text
    ) {
      return existing.id;
    }
    const existingId = check.id ?? existing?.id;
    const body = {
      status: check.status,
      ...(check.conclusion && { conclusion: check.conclusion }),
      ...(check.status === 'completed' && { completed_at: new Date().toISOString() }),
      ...(check.detailsUrl && { details_url: check.detailsUrl }),
      ...(check.externalId && { external_id: check.externalId }),
      output,
    };
    if (existingId !== undefined) {
      await this.octokit.rest.checks.update({ ...repo, check_run_id: existingId, ...body });
      return existingId;
    }
    const { data } = await this.octokit.rest.checks.create({
      ...repo,
      name: check.name,
      head_sha: check.headSha,
      ...body,
    });
    return data.id;
  }

  async dispatchWorkflow(repo: RepoRef, workflow: string, ref: string, inputs: Record<string, string>): Promise<void> {
    await this.octokit.rest.actions.createWorkflowDispatch({ ...repo, workflow_id: workflow, ref, inputs });
  }

  async dispatchedRun(repo: RepoRef, workflow: string, branch: string, key: string): Promise<boolean> {
    // Newest first; a burst of commands can dispatch hundreds of runs after the one looked for.
    let found = false;
    let pages = 0;
    await this.octokit.paginate(
      this.octokit.rest.actions.listWorkflowRuns,
      { ...repo, workflow_id: workflow, branch, event: 'workflow_dispatch', per_page: PAGE },
      (response, done) => {
        pages += 1;
        found ||= response.data.some((run) => run.display_title.split(' ').includes(key));
        if (found || pages >= DISPATCHED_PAGES) done();
        return [];
      },
    );
    return found;
  }

  async downloadArtifact(repo: RepoRef, runId: number, name: string): Promise<Record<string, Uint8Array> | undefined> {
    const { data } = await this.octokit.rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: runId, name });
    const artifact = data.artifacts.find((candidate) => candidate.name === name && !candidate.expired);
    if (!artifact) return undefined;
    const zip = await this.octokit.rest.actions.downloadArtifact({
      ...repo,
      artifact_id: artifact.id,
      archive_format: 'zip',
    });
    const bytes = new Uint8Array(zip.data as ArrayBuffer);
    if (bytes.byteLength > ZIP_LIMITS.zipBytes)
      throw new EdgeshipError(
        `artifact "${name}" of run ${runId} is ${bytes.byteLength} bytes zipped; at most ${ZIP_LIMITS.zipBytes} are read`,
      );
    // Sizes are checked from the zip's directory before anything is inflated; fflate inflates each
    // entry into a buffer of its declared size, so an entry that lies about it fails instead of growing.
    let entries = 0;
    let total = 0;
    const refuse = (why: string): never => {
      throw new EdgeshipError(`artifact "${name}" of run ${runId} is refused: ${why}`);
    };
    try {
      return unzipSync(bytes, {
        filter: (file) => {
          entries += 1;
          total += file.originalSize;
          if (entries > ZIP_LIMITS.entries) refuse(`more than ${ZIP_LIMITS.entries} entries`);
          if (file.originalSize > ZIP_LIMITS.entryBytes)
            refuse(
              `${file.name} inflates to ${file.originalSize} bytes, more than the ${ZIP_LIMITS.entryBytes} allowed for one file`,
            );
          if (total > ZIP_LIMITS.totalBytes)
            refuse(`its files inflate to more than the ${ZIP_LIMITS.totalBytes} bytes allowed in all`);
          return true;
        },
      });
    } catch (error) {
      if (error instanceof EdgeshipError) throw error;
      throw new EdgeshipError(`artifact "${name}" of run ${runId} is not a readable zip: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** Looks first: a replayed event costs a read, not a content-creating request. */
  async createBranch(repo: RepoRef, branch: string, sha: string): Promise<'created' | 'exists'> {
    if ((await this.branchHead(repo, branch)) !== undefined) return 'exists';
    return this.octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha }).then(
      () => 'created' as const,
      (error: { status?: number; message?: string }) => {
        if (error.status === 422 && /already exists/i.test(error.message ?? '')) return 'exists' as const;
        throw error;
      },
    );
  }

  /**
   * One commit on a branch whose head must still be `expectedHead` (compare-and-swap); 'stale'
   * when someone else moved it. A change of a few files is one createCommitOnBranch request; a
   * release to a large fleet (thousands of files, megabytes) goes through the Git Data API
   * instead, within its request limits: trees of at most TREE_CHUNK entries or TREE_BYTES bytes,
   * each on the one before (`base_tree`), one commit whose parent is `expectedHead`, and a
   * non-forced ref update, which GitHub refuses unless it fast-forwards from that head.
   */
  async commitOnBranch(
    repo: RepoRef,
    branch: string,
    expectedHead: string,
    files: FileWrite[],
    message: string,
  ): Promise<{ sha: string } | 'stale'> {
    const bytes = files.reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);
    if (files.length > this.oneRequest.files || bytes > this.oneRequest.bytes)
      return this.commitByGitData(repo, branch, expectedHead, files, message);
    const [headline = '', ...rest] = message.split('\n');
    try {
      const result = await this.octokit.graphql<{ createCommitOnBranch: { commit: { oid: string } } }>(
        `mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
        {
          input: {
            branch: { repositoryNameWithOwner: repoName(repo), branchName: branch },
            expectedHeadOid: expectedHead,
            message: { headline, body: rest.join('\n').trim() },
            fileChanges: {
              additions: files.map((file) => ({
                path: file.path,
                contents: Buffer.from(file.content).toString('base64'),
              })),
            },
          },
        },
      );
      return { sha: result.createCommitOnBranch.commit.oid };
    } catch (error) {
      if (/expectedHeadOid|expected branch to point to/i.test(messageOf(error))) return 'stale';
      throw error;
    }
  }

  private async commitByGitData(
    repo: RepoRef,
    branch: string,
    expectedHead: string,
    files: FileWrite[],
    message: string,
  ): Promise<{ sha: string } | 'stale'> {
    const git = this.octokit.rest.git;
    let tree = (await git.getCommit({ ...repo, commit_sha: expectedHead })).data.tree.sha;
    for (const chunk of treeChunks(files)) {
      const entries = chunk.map((file) => ({
        path: file.path,
        mode: '100644' as const,
        type: 'blob' as const,
        content: file.content,
      }));
      tree = (await git.createTree({ ...repo, base_tree: tree, tree: entries })).data.sha;
    }
    const commit = (await git.createCommit({ ...repo, message, tree, parents: [expectedHead] })).data.sha;
    try {
      await git.updateRef({ ...repo, ref: `heads/${branch}`, sha: commit, force: false });
    } catch (error) {
      // "Update is not a fast forward": the branch moved since expectedHead.
      if ((error as { status?: number }).status === 422) return 'stale';
      throw error;
    }
    return { sha: commit };
  }

  async ensurePullRequest(repo: RepoRef, spec: PullRequestSpec): Promise<PullRequestInfo & { created: boolean }> {
    const { data } = await this.octokit.rest.pulls.list({
      ...repo,
      head: `${repo.owner}:${spec.head}`,
      state: 'all',
      per_page: 5,
    });
    const existing = data[0];
    if (existing) {
      if (existing.state === 'open' && (existing.body !== body(spec.body) || existing.title !== title(spec.title))) {
        await this.octokit.rest.pulls.update({
          ...repo,
          pull_number: existing.number,
          title: title(spec.title),
          body: body(spec.body),
        });
      }
      return { ...pullInfo(existing), created: false };
    }
    const created = await this.octokit.rest.pulls.create({
      ...repo,
      head: spec.head,
      base: spec.base,
      title: title(spec.title),
      body: body(spec.body),
    });
    return { ...pullInfo(created.data), created: true };
  }

  async pullRequestOf(repo: RepoRef, branch: string): Promise<PullRequestInfo | undefined> {
    const { data } = await this.octokit.rest.pulls.list({
      ...repo,
      head: `${repo.owner}:${branch}`,
      state: 'all',
      per_page: 5,
    });
    const pull = data.find((candidate) => candidate.head.ref === branch);
    return pull && pullInfo(pull);
  }

  /** Every open one; of the closed, the RECENT_CLOSED updated last. */
  async listPullRequests(
    repo: RepoRef,
    headPrefix: string,
    state: 'open' | 'closed' = 'open',
  ): Promise<PullRequestInfo[]> {
    let read = 0;
    const pulls = await this.octokit.paginate(
      this.octokit.rest.pulls.list,
      { ...repo, state, sort: 'updated', direction: 'desc', per_page: PAGE },
      (response, done) => {
        read += response.data.length;
        if (state === 'closed' && read >= RECENT_CLOSED) done();
        return response.data;
      },
    );
    return pulls.filter((pull) => pull.head.ref.startsWith(headPrefix)).map(pullInfo);
  }

  async latestRun(repo: RepoRef, workflow: string, branch: string) {
    const { data } = await this.octokit.rest.actions.listWorkflowRuns({
      ...repo,
      workflow_id: workflow,
      branch,
      per_page: 1,
    });
    const run = data.workflow_runs[0];
    return (
      run && {
        id: run.id,
        headSha: run.head_sha,
        headBranch: run.head_branch ?? branch,
        path: run.path,
        status: run.status ?? '',
        conclusion: run.conclusion,
        url: run.html_url,
      }
    );
  }

  async listDeployments(repo: RepoRef, environment: string | undefined, limit: number) {
    let read = 0;
    const deployments = await this.octokit.paginate(
      this.octokit.rest.repos.listDeployments,
      { ...repo, ...(environment && { environment }), per_page: Math.min(limit, PAGE) },
      (response, done) => {
        read += response.data.length;
        if (read >= limit) done();
        return response.data;
      },
    );
    return deployments.slice(0, limit).map((deployment) => ({
      id: deployment.id,
      environment: deployment.environment,
      ref: deployment.ref,
      createdAt: deployment.created_at,
      payload: deployment.payload,
    }));
  }

  async createDeployment(
    repo: RepoRef,
    ref: string,
    environment: string,
    description: string,
    payload: object,
  ): Promise<number> {
    const created = await this.octokit.rest.repos.createDeployment({
      ...repo,
      ref,
      environment,
      description: deploymentText(description),
      payload: payload as Record<string, unknown>,
      auto_merge: false,
      required_contexts: [],
      production_environment: false,
      transient_environment: true,
    });
    if (!('id' in created.data))
      throw new EdgeshipError(`GitHub did not create the deployment to ${environment}: ${created.data.message ?? ''}`);
    return created.data.id;
  }

  async deploymentState(repo: RepoRef, id: number): Promise<string> {
    const { data } = await this.octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id, per_page: 1 });
    return data[0]?.state ?? 'queued';
  }

  async setDeploymentStatus(
    repo: RepoRef,
    id: number,
    state: 'in_progress' | 'success' | 'failure' | 'inactive',
    description: string,
  ): Promise<void> {
    await this.octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state,
      description: deploymentText(description),
    });
  }

  async deploymentEnvironments(repo: RepoRef, ref: string): Promise<string[]> {
    const deployments = await this.octokit.paginate(this.octokit.rest.repos.listDeployments, {
      ...repo,
      ref,
      per_page: PAGE,
    });
    return deployments.map((deployment) => deployment.environment);
  }

  async closePullRequest(repo: RepoRef, number: number, comment: string): Promise<void> {
    await this.octokit.rest.issues.createComment({ ...repo, issue_number: number, body: body(comment) });
    await this.octokit.rest.pulls.update({ ...repo, pull_number: number, state: 'closed' });
  }

  async permissionOf(repo: RepoRef, user: string): Promise<string> {
    const response = await this.octokit.rest.repos
      .getCollaboratorPermissionLevel({ ...repo, username: user })
      .catch(notFound);
    // role_name knows maintain and triage, which the legacy permission field folds into write and read.
    return response ? (response.data.role_name ?? response.data.permission) : 'none';
  }

  async comment(repo: RepoRef, issue: number, text: string): Promise<number> {
    const { data } = await this.octokit.rest.issues.createComment({ ...repo, issue_number: issue, body: body(text) });
    return data.id;
  }

  async editComment(repo: RepoRef, id: number, text: string): Promise<void> {
    await this.octokit.rest.issues.updateComment({ ...repo, comment_id: id, body: body(text) });
  }

  async deleteComment(repo: RepoRef, id: number): Promise<void> {
    await this.octokit.rest.issues.deleteComment({ ...repo, comment_id: id }).catch(notFound);
  }

  async recentComments(repo: RepoRef, since: string): Promise<IssueComment[]> {
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listCommentsForRepo, {
      ...repo,
      since,
      sort: 'created',
      direction: 'asc',
      per_page: PAGE,
    });
    return comments.map((comment) => issueComment(comment, Number(comment.issue_url.split('/').pop())));
  }

  async markedComments(repo: RepoRef, issue: number, marker: string): Promise<IssueComment[]> {
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      ...repo,
      issue_number: issue,
      per_page: PAGE,
    });
    return comments
      .map((comment) => issueComment(comment, issue))
      .filter((comment) => comment.bot && comment.body.includes(marker));
  }

  async ensureComment(repo: RepoRef, issue: number, marker: string, text: string): Promise<void> {
    if ((await this.markedComments(repo, issue, marker)).length > 0) return;
    // The marker is what finds the comment again: a cut leaves it whole.
    await this.octokit.rest.issues.createComment({
      ...repo,
      issue_number: issue,
      body: `${fitWithin(text, GITHUB_LIMITS.body - marker.length - 2)}\n\n${marker}`,
    });
  }

  async findIssue(repo: RepoRef, label: string, wanted: string) {
    const issues = await this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
      ...repo,
      labels: label,
      state: 'open',
      per_page: PAGE,
    });
    const issue = issues.find((candidate) => !candidate.pull_request && candidate.title === wanted);
    return issue && { number: issue.number, url: issue.html_url };
  }

  /** GraphQL, for the issue's last editor, which REST does not tell. */
  async readIssue(repo: RepoRef, number: number) {
    const data = await this.octokit.graphql<{
      repository: { issue: { body: string; editor: { __typename: string; login: string } | null } | null } | null;
    }>(
      `query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, name: $name) { issue(number: $number) { body editor { __typename login } } } }`,
      { owner: repo.owner, name: repo.repo, number },
    );
    const issue = data.repository?.issue;
    if (!issue) throw new EdgeshipError(`${repoName(repo)}#${number} is not an issue the app can read`);
    return {
      body: issue.body,
      ...(issue.editor && { editor: { login: issue.editor.login, bot: issue.editor.__typename === 'Bot' } }),
    };
  }

  async createIssue(repo: RepoRef, text: string, content: string, labels: string[]) {
    const { data } = await this.octokit.rest.issues.create({
      ...repo,
      title: title(text),
      body: body(content),
      labels,
    });
    return { number: data.number, url: data.html_url };
  }

  async updateIssue(repo: RepoRef, number: number, content: string): Promise<void> {
    await this.octokit.rest.issues.update({ ...repo, issue_number: number, body: body(content) });
  }

  async ensureDeployments(repo: RepoRef, ref: string, deployments: DeploymentSpec[]): Promise<void> {
    const existing = await this.octokit.paginate(this.octokit.rest.repos.listDeployments, {
      ...repo,
      ref,
      per_page: PAGE,
    });
    for (const deployment of deployments) {
      let id = existing.find((candidate) => candidate.environment === deployment.environment)?.id;
      if (id !== undefined) {
        if (deployment.status.state === 'pending') continue;
        const { data: statuses } = await this.octokit.rest.repos.listDeploymentStatuses({
          ...repo,
          deployment_id: id,
          per_page: 1,
        });
        if (statuses[0]?.state === deployment.status.state) continue; // already says so
      } else {
        const created = await this.octokit.rest.repos.createDeployment({
          ...repo,
          ref,
          environment: deployment.environment,
          description: deploymentText(deployment.description),
          payload: deployment.payload as Record<string, unknown>,
          auto_merge: false,
          required_contexts: [],
          production_environment: false,
        });
        if (!('id' in created.data))
          throw new EdgeshipError(
            `GitHub did not create the deployment to ${deployment.environment}: ${created.data.message ?? ''}`,
          );
        id = created.data.id;
        if (deployment.status.state === 'pending') continue; // GitHub shows a deployment without a status as pending
      }
      await this.octokit.rest.repos.createDeploymentStatus({
        ...repo,
        deployment_id: id,
        state: deployment.status.state,
        description: deploymentText(deployment.status.description),
        ...(deployment.status.url && { log_url: deployment.status.url }),
      });
    }
  }
}

/** A REST issue comment as the port says it; `bot`: written by an app, which no person can write as. */
function issueComment(
  comment: { id: number; body?: string; user: { login: string; type: string } | null; updated_at: string },
  issue: number,
): IssueComment {
  return {
    id: comment.id,
    issue,
    body: comment.body ?? '',
    user: comment.user?.login ?? '',
    bot: comment.user?.type === 'Bot',
    updatedAt: comment.updated_at,
  };
}

function pullInfo(pull: {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
  merge_commit_sha?: string | null;
  head: { ref: string; sha: string };
  base: { ref: string };
}): PullRequestInfo {
  return {
    number: pull.number,
    headSha: pull.head.sha,
    base: pull.base.ref,
    url: pull.html_url,
    state: pull.state === 'open' ? 'open' : 'closed',
    merged: Boolean(pull.merged_at),
    head: pull.head.ref,
    ...(pull.merged_at && pull.merge_commit_sha && { mergeSha: pull.merge_commit_sha }),
  };
}

/** Resolves a 404 to undefined and rethrows anything else. */
function notFound(error: unknown): undefined {
  if ((error as { status?: number }).status === 404) return undefined;
  throw error;
}
