import { schema as published } from '@octokit/graphql-schema';
import {
  buildClientSchema,
  GraphQLError,
  graphqlSync,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import type { Repo } from './fake-github.ts';

/** What the GraphQL answers read and change of the fake GitHub's state. */
export interface GraphqlWorld {
  has(fullName: string): boolean;
  repo(fullName: string): Repo;
  file(fullName: string, ref: string, path: string): string | undefined;
  commit(fullName: string, branch: string, files: Record<string, string>): string;
  /** Opens a PR as the REST API does, or says why GitHub would refuse it. */
  openPull(
    fullName: string,
    spec: { head: string; base: string; title: string; body: string },
  ): Repo['pulls'][number] | { refused: string };
}

let built: GraphQLSchema | undefined;
/** GitHub's published schema, built once per process (about 70 ms). */
const githubSchema = () => (built ??= buildClientSchema(published.json as unknown as IntrospectionQuery));

/** A repository's node id, as this fake issues them. */
export const repositoryId = (fullName: string) => `R_${Buffer.from(fullName).toString('base64url')}`;
const fullNameOf = (id: string) => (id.startsWith('R_') ? Buffer.from(id.slice(2), 'base64url').toString('utf8') : '');

/** An error as GitHub's GraphQL API reports one: with its `type`. */
const refusal = (type: string, message: string) => new GraphQLError(message, { extensions: { type } });

/** Fields that are functions are called with their arguments; the rest are read as they are. */
const fieldResolver: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, args, _context, info) => {
  const value = source?.[info.fieldName];
  return typeof value === 'function' ? (value as (args: unknown) => unknown)(args) : value;
};

interface Page {
  first?: number;
  after?: string;
}

/** A connection over items as GitHub pages it: at most 100 a page, an opaque cursor to the next. */
function connection<T>(items: readonly T[], { first = 100, after }: Page) {
  const start = after ? Number(Buffer.from(after, 'base64').toString('utf8')) : 0;
  const size = Math.min(100, Math.max(1, first));
  const end = start + size;
  return {
    nodes: items.slice(start, end),
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      endCursor: Buffer.from(String(Math.min(end, items.length))).toString('base64'),
    },
  };
}

/**
 * Answers a GraphQL document by executing it against GitHub's published schema over the fake's
 * state: a document the schema refuses is refused as GitHub would, and every answer has the
 * schema's shape. Mutation fields run one after another; one that fails is null with an error
 * naming its path, and the others still run, as on GitHub.
 */
export function answerGraphql(
  world: GraphqlWorld,
  query: string,
  variables: Record<string, unknown>,
): { data?: unknown; errors?: unknown[] } {
  const commitOf = (fullName: string, oid: string) => ({
    __typename: 'Commit',
    oid,
    checkSuites: ({ filterBy, ...page }: Page & { filterBy?: { appId?: number; checkName?: string } }) => {
      const runs = world
        .repo(fullName)
        .checkRuns.filter(
          (run) =>
            run.head_sha === oid &&
            (filterBy?.appId === undefined || run.app.id === filterBy.appId) &&
            (!filterBy?.checkName || run.name === filterBy.checkName),
        );
      const apps = [...new Map(runs.map((run) => [run.app.id, run.app])).values()];
      return connection(
        apps.map((app) => ({
          app: { databaseId: app.id, slug: app.slug },
          checkRuns: ({
            filterBy: runFilter,
            ...runPage
          }: Page & { filterBy?: { checkName?: string; checkType?: string } }) => {
            const named = runs
              .filter((run) => run.app.id === app.id && (!runFilter?.checkName || run.name === runFilter.checkName))
              .reverse();
            const latest =
              runFilter?.checkType === 'LATEST'
                ? named.filter((run, index) => named.findIndex((other) => other.name === run.name) === index)
                : named;
            return connection(
              latest.map((run) => ({
                databaseId: run.id,
                name: run.name,
                status: run.status.toUpperCase(),
                conclusion: run.conclusion?.toUpperCase() ?? null,
                externalId: run.external_id,
                title: run.output.title,
                summary: run.output.summary,
                text: run.output.text ?? null,
                detailsUrl: run.details_url ?? null,
              })),
              runPage,
            );
          },
        })),
        page,
      );
    },
  });
  const pullOf = (fullName: string, pull: Repo['pulls'][number]) => ({
    number: pull.number,
    url: pull.html_url,
    headRefName: pull.head.ref,
    headRefOid: world.repo(fullName).branches.get(pull.head.ref) ?? pull.head.sha,
    baseRefName: pull.base.ref,
    title: pull.title,
    body: pull.body,
    state: pull.state === 'open' ? 'OPEN' : pull.merged_at ? 'MERGED' : 'CLOSED',
    merged: Boolean(pull.merged_at),
    mergeCommit: pull.merge_commit_sha ? { oid: pull.merge_commit_sha } : null,
  });
  const issueOf = (fullName: string, issue: Repo['issues'][number]) => ({
    number: issue.number,
    title: issue.title,
    url: `https://github.com/${fullName}/issues/${issue.number}`,
    body: issue.body,
    editor: issue.editor ? { __typename: issue.editor.bot ? 'Bot' : 'User', login: issue.editor.login } : null,
  });
  const repositoryOf = (fullName: string) => ({
    id: repositoryId(fullName),
    nameWithOwner: fullName,
    object: ({ expression, oid }: { expression?: string; oid?: string }) => {
      if (oid !== undefined) return world.repo(fullName).commits.has(oid) ? commitOf(fullName, oid) : null;
      const [ref = '', ...path] = (expression ?? '').split(':');
      const text = world.file(fullName, ref, path.join(':'));
      return text === undefined ? null : { __typename: 'Blob', text, isTruncated: false, isBinary: false };
    },
    ref: ({ qualifiedName }: { qualifiedName: string }) => {
      const name = qualifiedName.replace(/^refs\/heads\//, '');
      const head = world.repo(fullName).branches.get(name);
      return head === undefined ? null : { name, target: commitOf(fullName, head) };
    },
    issue: ({ number }: { number: number }) => {
      const issue = world.repo(fullName).issues.find((candidate) => candidate.number === number);
      return issue ? issueOf(fullName, issue) : null;
    },
    issues: ({ labels, states, ...page }: Page & { labels?: string[]; states?: string[] }) => {
      const issues = world
        .repo(fullName)
        .issues.filter(
          (issue) =>
            (!states || states.includes(issue.state.toUpperCase())) &&
            (!labels || labels.some((label) => issue.labels.includes(label))),
        );
      return connection(
        issues.map((issue) => issueOf(fullName, issue)),
        page,
      );
    },
    pullRequests: ({ states, ...page }: Page & { states?: string[] }) => {
      const pulls = world
        .repo(fullName)
        .pulls.map((pull) => pullOf(fullName, pull))
        .filter((pull) => !states || states.includes(pull.state));
      return connection([...pulls].reverse(), page);
    },
  });
  const repositoryNamed = (id: string) => {
    const fullName = fullNameOf(id);
    if (!world.has(fullName)) throw refusal('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'.`);
    return fullName;
  };
  const root = {
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const fullName = `${owner}/${name}`;
      // GitHub answers an unknown repository with null data and a NOT_FOUND error.
      if (!world.has(fullName))
        throw refusal('NOT_FOUND', `Could not resolve to a Repository with the name '${fullName}'.`);
      return repositoryOf(fullName);
    },
    createRef: ({ input }: { input: { repositoryId: string; name: string; oid: string } }) => {
      const fullName = repositoryNamed(input.repositoryId);
      const branch = input.name.replace(/^refs\/heads\//, '');
      const repo = world.repo(fullName);
      if (repo.branches.has(branch))
        throw refusal('UNPROCESSABLE', `A ref named "${input.name}" already exists in the repository.`);
      if (!repo.commits.has(input.oid)) throw refusal('UNPROCESSABLE', `Object does not exist: ${input.oid}`);
      repo.branches.set(branch, input.oid);
      return { ref: { name: branch, target: commitOf(fullName, input.oid) } };
    },
    createCommitOnBranch: ({
      input,
    }: {
      input: {
        branch: { repositoryNameWithOwner: string; branchName: string };
        expectedHeadOid: string;
        fileChanges: { additions: { path: string; contents: string }[] };
      };
    }) => {
      const fullName = input.branch.repositoryNameWithOwner;
      const head = world.repo(fullName).branches.get(input.branch.branchName);
      if (head !== input.expectedHeadOid)
        throw refusal(
          'STALE_DATA',
          `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again. (expectedHeadOid)`,
        );
      const files = Object.fromEntries(
        input.fileChanges.additions.map((file) => [file.path, Buffer.from(file.contents, 'base64').toString('utf8')]),
      );
      return { commit: commitOf(fullName, world.commit(fullName, input.branch.branchName, files)) };
    },
    createPullRequest: ({
      input,
    }: {
      input: { repositoryId: string; baseRefName: string; headRefName: string; title: string; body?: string };
    }) => {
      const fullName = repositoryNamed(input.repositoryId);
      const pull = world.openPull(fullName, {
        head: input.headRefName,
        base: input.baseRefName,
        title: input.title,
        body: input.body ?? '',
      });
      if ('refused' in pull) throw refusal('UNPROCESSABLE', pull.refused);
      return { pullRequest: pullOf(fullName, pull) };
    },
  };
  const result = graphqlSync({
    schema: githubSchema(),
    source: query,
    rootValue: root,
    variableValues: variables,
    fieldResolver,
  });
  const errors = result.errors?.map((error) => ({
    ...(typeof error.extensions.type === 'string' && { type: error.extensions.type }),
    message: error.message,
    ...(error.locations && { locations: error.locations }),
    ...(error.path && { path: error.path }),
  }));
  return { ...(result.data !== undefined && { data: result.data }), ...(errors && { errors }) };
}
