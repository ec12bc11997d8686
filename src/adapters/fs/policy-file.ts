import { readFileSync } from 'node:fs';
import { parseYamlWith } from '../../core/parse-yaml.ts';
import { ConfigError } from '../../core/errors.ts';
import { EMPTY_POLICY, operatorPolicySchema, type OperatorPolicy } from '../../core/policy.ts';

/**
 * The operator's policy from EDGESHIP_POLICY_FILE (YAML, mounted by the operator); without the
 * variable, the empty policy, which lets no config use the operator's credentials. Read once at
 * start: a broken file stops the app with the file, path and line.
 */
export function readPolicyFile(file: string | undefined): OperatorPolicy {
  if (!file) return EMPTY_POLICY;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      file,
      [`EDGESHIP_POLICY_FILE cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`],
      { cause: error, what: 'operator policy' },
    );
  }
  return parseYamlWith(
    operatorPolicySchema,
    text,
    file,
    (issues) => new ConfigError(file, issues, { what: 'operator policy' }),
  );
}
