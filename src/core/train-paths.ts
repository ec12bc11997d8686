import picomatch from 'picomatch';

/** Every file but the release proposal: the push of a merged release PR changes nothing else. */
export const DEFAULT_TRAIN_PATHS = ['**', '!.edgeship/**'] as const;

/**
 * Whether a push that changed `files` trains, by `train.paths` as Actions reads `paths`: a file
 * counts when the last pattern that matches it is not negated (`!`). `undefined` files (GitHub
 * did not list them, e.g. a push of more commits than the payload carries) train, so nothing is
 * skipped by accident.
 */
export function changeTrains(paths: readonly string[], files: readonly string[] | undefined): boolean {
  if (files === undefined) return true;
  const rules = paths.map((pattern) => {
    const negated = pattern.startsWith('!');
    return { negated, matches: picomatch(negated ? pattern.slice(1) : pattern, { dot: true }) };
  });
  return files.some((file) => {
    let included = false;
    for (const rule of rules) if (rule.matches(file)) included = !rule.negated;
    return included;
  });
}
