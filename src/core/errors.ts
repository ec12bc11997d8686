/** Base of every error edgeship raises on purpose; anything else is a bug. */
export class EdgeshipError extends Error {
  override readonly name: string = 'EdgeshipError';
}

/** A command line that cannot run as given: a flag's value, a target the config does not have. */
export class UsageError extends EdgeshipError {
  override readonly name = 'UsageError';
}

/** A config file is missing, not YAML, or breaks the schema. `issues` say where and what. */
export class ConfigError extends EdgeshipError {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly issues: readonly string[],
    options?: ErrorOptions & { what?: string },
  ) {
    super(
      `${file} is not a valid ${options?.what ?? 'edgeship config'}:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`,
      options,
    );
  }
}

/** A training output (model, metrics, golden samples, statistics) is missing or unusable. */
export class ModelValidationError extends EdgeshipError {
  override readonly name = 'ModelValidationError';
}

/** An artifact could not be stored, found or verified. */
export class ArtifactError extends EdgeshipError {
  override readonly name = 'ArtifactError';
}

/** The GitOps repo could not be read or written. */
export class GitOpsError extends EdgeshipError {
  override readonly name: string = 'GitOpsError';
}

/**
 * A release whose gates failed, refused before anything is written to the GitOps repo or the
 * registry: a verdict (the CLI exits 1), not a failure. A GitOpsError, so every caller that
 * refuses a write refuses this one the same way.
 */
export class GatesFailedError extends GitOpsError {
  override readonly name = 'GatesFailedError';
}

/** The training command or backend failed. */
export class TrainingError extends EdgeshipError {
  override readonly name = 'TrainingError';
}

/** Narrows an unknown thrown value to a message worth showing. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
