import type { ProbotOctokit } from 'probot';
import { EdgeshipError } from '../../core/errors.ts';
import type { PullRequestInfo, RepoAnswers, RepoQuestions, RepoRef } from '../../ports.ts';
import { repoName } from '../../core/formats.ts';

type Octokit = InstanceType<typeof ProbotOctokit>;

/** Files one query reads at most; GitHubScm reads the rest in further queries. */
export const FILES_PER_QUERY = 100;

export interface Blob {
  text: string | null;
  isTruncated: boolean;
  isBinary: boolean | null;
}
interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean };
}
interface CheckRunNode {
  databaseId: number;
  status: string;
  conclusion: string | null;
  externalId: string | null;
}
interface PullNode {
  number: number;
  url: string;
  headRefName: string;
  headRefOid: string;
  baseRefName: string;
}
interface IssueNode {
  number: number;
  title: string;
  url: string;
  body: string;
  editor: { __typename: string; login: string } | null;
}
type Answer = Record<string, unknown> & {
  id: string;
  checked?: { checkSuites?: Connection<{ checkRuns: Connection<CheckRunNode> }> } | null;
  branch?: { target: { oid: string } } | null;
  openPulls?: Connection<PullNode>;
  issues?: Connection<IssueNode>;
};

/**
 * The repository's answers to the questions, and its node id, in one GraphQL query. A list
 * longer than one page (over 100 open PRs or labelled issues) comes back `truncated`, for the
 * caller to page through REST; a blob GraphQL gives up on (large, binary) comes back as such.
 */
export async function queryRepository(
  octokit: Octokit,
  repo: RepoRef,
  questions: RepoQuestions,
  appId: number | undefined,
) {
  const paths = questions.files?.paths.slice(0, FILES_PER_QUERY) ?? [];
  const declared: string[] = ['$owner: String!', '$name: String!'];
  const fields: string[] = ['id'];
  const variables: Record<string, unknown> = { owner: repo.owner, name: repo.repo };
  paths.forEach((path, index) => {
    declared.push(`$e${index}: String!`);
    fields.push(`f${index}: object(expression: $e${index}) { ... on Blob { text isTruncated isBinary } }`);
    variables[`e${index}`] = `${questions.files?.ref}:${path}`;
  });
  if (questions.check) {
    declared.push('$sha: GitObjectID!', '$checkName: String!', ...(appId === undefined ? [] : ['$appId: Int']));
    const suites = appId === undefined ? '{ checkName: $checkName }' : '{ appId: $appId, checkName: $checkName }';
    fields.push(
      `checked: object(oid: $sha) { ... on Commit { checkSuites(first: 10, filterBy: ${suites}) { nodes { checkRuns(first: 100, filterBy: { checkName: $checkName, checkType: ALL }) { nodes { databaseId status conclusion externalId } pageInfo { hasNextPage } } } pageInfo { hasNextPage } } } }`,
    );
    Object.assign(variables, {
      sha: questions.check.sha,
      checkName: questions.check.name,
      ...(appId !== undefined && { appId }),
    });
  }
  if (questions.branch !== undefined) {
    declared.push('$branch: String!');
    fields.push('branch: ref(qualifiedName: $branch) { target { oid } }');
    variables.branch = `refs/heads/${questions.branch}`;
  }
  if (questions.openPulls !== undefined)
    fields.push(
      'openPulls: pullRequests(states: OPEN, first: 100, orderBy: { field: UPDATED_AT, direction: DESC }) { nodes { number url headRefName headRefOid baseRefName } pageInfo { hasNextPage } }',
    );
  if (questions.issues !== undefined) {
    declared.push('$label: String!');
    fields.push(
      'issues(labels: [$label], states: OPEN, first: 100) { nodes { number title url body editor { __typename login } } pageInfo { hasNextPage } }',
    );
    variables.label = questions.issues;
  }
  const data = await octokit
    .graphql<{ repository: Answer | null }>(
      `query(${declared.join(', ')}) { repository(owner: $owner, name: $name) { ${fields.join('\n')} } }`,
      variables,
    )
    .catch((error: { errors?: { type?: string }[] }) => {
      // GitHub answers a repository the app cannot see with NOT_FOUND, not with null data.
      if (error.errors?.some((entry) => entry.type === 'NOT_FOUND')) return { repository: null };
      throw error;
    });
  const answer = data.repository;
  if (!answer) throw new EdgeshipError(`${repoName(repo)} is not readable by the app (is it installed there?)`);
  const blobs = new Map(paths.map((path, index) => [path, (answer[`f${index}`] ?? undefined) as Blob | undefined]));
  const runs = answer.checked?.checkSuites?.nodes.flatMap((suite) => suite.checkRuns.nodes) ?? [];
  const newest = runs.sort((a, b) => b.databaseId - a.databaseId)[0];
  const answers: Omit<RepoAnswers, 'files'> = {
    ...(questions.check && {
      check: newest
        ? {
            id: newest.databaseId,
            status: newest.status.toLowerCase(),
            conclusion: newest.conclusion?.toLowerCase() ?? null,
            externalId: newest.externalId,
            keys: runs.flatMap((run) => (run.externalId ? [run.externalId] : [])),
            queued: runs.flatMap((run) =>
              run.status === 'QUEUED' && run.externalId ? [{ id: run.databaseId, key: run.externalId }] : [],
            ),
          }
        : null,
    }),
    ...(answer.branch && { branchHead: answer.branch.target.oid }),
    ...(answer.openPulls && {
      openPulls: answer.openPulls.nodes
        .filter((pull) => pull.headRefName.startsWith(questions.openPulls ?? ''))
        .map(openPull),
    }),
    ...(answer.issues && {
      issues: answer.issues.nodes.map((issue) => ({
        number: issue.number,
        title: issue.title,
        url: issue.url,
        body: issue.body,
        ...(issue.editor && { editor: { login: issue.editor.login, bot: issue.editor.__typename === 'Bot' } }),
      })),
    }),
  };
  const truncated = {
    pulls: answer.openPulls?.pageInfo.hasNextPage === true,
    issues: answer.issues?.pageInfo.hasNextPage === true,
    check: answer.checked?.checkSuites?.pageInfo.hasNextPage === true || runs.length >= 100,
  };
  return { id: answer.id, blobs, answers, truncated };
}

const openPull = (pull: PullNode): PullRequestInfo => ({
  number: pull.number,
  url: pull.url,
  state: 'open',
  merged: false,
  head: pull.headRefName,
  headSha: pull.headRefOid,
  base: pull.baseRefName,
});

/**
 * The mutations that open a release PR in one request: the branch, the commit on it (checked
 * against the base it was made at), the PR. GraphQL runs them in order, and one that fails
 * leaves the others running: the caller reads which failed from the errors' paths.
 */
export const OPEN_PULL_REQUEST = `mutation($ref: CreateRefInput!, $commit: CreateCommitOnBranchInput!, $pull: CreatePullRequestInput!) {
  createRef(input: $ref) { ref { name } }
  createCommitOnBranch(input: $commit) { commit { oid } }
  createPullRequest(input: $pull) { pullRequest { number url } }
}`;
