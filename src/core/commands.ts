/** `/edgeship …` commands in PR and issue comments. */
export type Command =
  | { name: 'help' }
  | { name: 'retrain' }
  | { name: 'promote' }
  | { name: 'rollback'; target?: string }
  | { name: 'pin'; target: string; placement: 'edge' | 'offload' | 'adaptive' }
  | { name: 'unpin'; target: string }
  | { name: 'allow-breaking' };

export const COMMAND_HELP = [
  '| command | what it does |',
  '|---|---|',
  '| `/edgeship retrain` | trains the head of the default branch again |',
  '| `/edgeship promote` | sends the next wave of the current rollout now, without waiting for health and soak |',
  '| `/edgeship rollback` | rolls every target of the current release back to what it ran before; no further waves |',
  '| `/edgeship rollback <target>` | rolls one target back and holds it there; the other targets go on |',
  '| `/edgeship pin <target> edge\\|offload\\|adaptive` | keeps the target on that placement, now and in every release |',
  '| `/edgeship unpin <target>` | lets releases place the target again |',
  '| `/edgeship allow-breaking` | on a release PR whose contract breaks clients: allows it for this release, recorded in the release |',
  '| `/edgeship help` | this list |',
  '',
  'Commands need write, maintain or admin permission on the repository.',
].join('\n');

const TARGET = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The command in a comment: its first line must start with `/edgeship`. Returns undefined for
 * ordinary comments and an error sentence for a command edgeship does not know.
 */
export function parseCommand(body: string): Command | { error: string } | undefined {
  const line = body.trimStart().split('\n')[0]?.trim() ?? '';
  if (!/^\/edgeship(\s|$)/.test(line)) return undefined;
  const [, name = 'help', ...args] = line.split(/\s+/);
  const [first, second, ...extra] = args;
  const target = first !== undefined && TARGET.test(first) ? first : undefined;
  if ((name === 'help' || name === 'retrain' || name === 'promote' || name === 'allow-breaking') && args.length === 0)
    return { name };
  if (name === 'rollback' && args.length === 0) return { name };
  if (name === 'rollback' && target && args.length === 1) return { name, target };
  if (name === 'unpin' && target && args.length === 1) return { name, target };
  if (
    name === 'pin' &&
    target &&
    (second === 'edge' || second === 'offload' || second === 'adaptive') &&
    extra.length === 0
  )
    return { name, target, placement: second };
  if (name === 'pin') return { error: `\`${line}\`: expected \`/edgeship pin <target> edge|offload|adaptive\`.` };
  return { error: `\`${line}\` is not an edgeship command.` };
}

/** Permissions that may run commands, as the collaborator permission API names them. */
export const COMMAND_ROLES = new Set(['admin', 'maintain', 'write']);
