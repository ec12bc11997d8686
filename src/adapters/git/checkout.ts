import { simpleGit } from 'simple-git';
import { EdgeshipError, messageOf } from '../../core/errors.ts';

/**
 * Clones `url` into `directory` and checks out `sha`, as a cluster run does before it trains.
 * With a token (EDGESHIP_GIT_TOKEN), HTTPS remotes get it as GitHub's `x-access-token` user,
 * through a header only this command sees: it is never written into the clone's config.
 */
export async function checkoutCommit(url: string, sha: string, directory: string, token?: string): Promise<void> {
  const header = token
    ? [`http.extraHeader=Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`]
    : [];
  const git = simpleGit({ config: header });
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  try {
    await git.clone(url, directory, ['--no-checkout', '--filter=blob:none']);
  } catch (error) {
    throw new EdgeshipError(
      `EDGESHIP_REPO_URL: cannot clone ${shown}: ${messageOf(error).split('\n')[0]}${token ? '' : ' (a private repo needs EDGESHIP_GIT_TOKEN)'}`,
      { cause: error },
    );
  }
  try {
    await simpleGit({ baseDir: directory, config: header }).checkout(['--detach', sha]);
  } catch (error) {
    throw new EdgeshipError(`EDGESHIP_SHA: ${shown} has no commit ${sha}: ${messageOf(error).split('\n')[0]}`, {
      cause: error,
    });
  }
}
