/** `/edgeship …` commands in PR and issue comments. */
export type Command = { name: 'help' } | { name: 'retrain' };

export const COMMAND_HELP = [
  '| command | what it does |',
  '|---|---|',
  '| `/edgeship retrain` | trains the head of the default branch again |',
  '| `/edgeship help` | this list |',
  '',
  'Commands need write, maintain or admin permission on the repository.',
].join('\n');

/**
 * The command in a comment: its first line must start with `/edgeship`. Returns undefined for
 * ordinary comments and an error sentence for a command edgeship does not know.
 */
export function parseCommand(body: string): Command | { error: string } | undefined {
  const line = body.trimStart().split('\n')[0]?.trim() ?? '';
  if (!/^\/edgeship(\s|$)/.test(line)) return undefined;
  const [, name = 'help', ...rest] = line.split(/\s+/);
  if (name === 'help' && rest.length === 0) return { name: 'help' };
  if (name === 'retrain' && rest.length === 0) return { name: 'retrain' };
  return { error: `\`${line}\` is not an edgeship command.` };
}

/** Permissions that may run commands, as the collaborator permission API names them. */
export const COMMAND_ROLES = new Set(['admin', 'maintain', 'write']);
