import { configSchema, type EdgeshipConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { parseYamlWith } from './parse-yaml.ts';

/** Parses and validates the text of `.github/edgeship.yml`; `file` is only used in errors. */
export function parseConfig(text: string, file: string): EdgeshipConfig {
  return parseYamlWith(configSchema, text, file, (issues) => new ConfigError(file, issues));
}
