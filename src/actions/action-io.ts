import * as core from '@actions/core';
import { EdgeshipError } from '../core/errors.ts';

/** A step input is wrong: the annotation names it. */
export class InputError extends EdgeshipError {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The input as the runner passes it (INPUT_<NAME>), or the fallback when empty. */
export function input(name: string, fallback = ''): string {
  return core.getInput(name) || fallback;
}

export function requiredInput(name: string): string {
  const value = core.getInput(name);
  if (!value) throw new InputError(name, `input "${name}" is required`);
  return value;
}

export function booleanInput(name: string, fallback: boolean): boolean {
  const value = core.getInput(name).toLowerCase();
  if (value === '') return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InputError(name, `input "${name}" must be true or false, found "${value}"`);
}

/** Rethrows edgeship errors from work that depends on `name` as errors of that input. */
export async function blame<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EdgeshipError && !(error instanceof InputError))
      throw new InputError(name, error.message, { cause: error });
    throw error;
  }
}

/**
 * Runs a step: failures become one `::error` annotation titled with the step and the input
 * at fault, and the step's exit code; unexpected errors keep their stack for the log.
 */
export async function runStep(step: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof InputError) core.error(error.message, { title: `edgeship ${step}: input "${error.input}"` });
    else if (error instanceof EdgeshipError) core.error(error.message, { title: `edgeship ${step}` });
    else
      core.error(error instanceof Error ? (error.stack ?? error.message) : String(error), {
        title: `edgeship ${step}: unexpected error`,
      });
    process.exitCode = 1;
  }
}

/**
 * Which input a registry failure of the publish step is about: every refusal of the credentials
 * says "credentials" (the registry client's messages); anything else is the registry's.
 * Status codes are not matched as text: a registry's port (127.0.0.1:40312) would match "403".
 */
export const registryInputOf = (message: string): 'token' | 'registry' =>
  /\bcredentials\b/.test(message) ? 'token' : 'registry';
