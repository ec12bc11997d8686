import semver from 'semver';
import { z } from 'zod';
import { semverString } from './formats.ts';

/** `none`: the candidate is the deployed model itself, so there is nothing to release. */
export const bumpSchema = z.enum(['initial', 'major', 'minor', 'patch', 'none']);
export type Bump = z.infer<typeof bumpSchema>;

export const nextVersionSchema = z.object({ version: semverString, bump: bumpSchema, reason: z.string().max(2000) });
export type NextVersion = z.infer<typeof nextVersionSchema>;

/**
 * Semver from the comparison with the deployed release: major when the contract breaks clients,
 * minor when the primary metric improves, patch otherwise; 1.0.0 when nothing is deployed.
 */
export function nextVersion(
  baseline: string | undefined,
  comparison: { breaking: boolean; primaryImproved: boolean; primary: string },
): NextVersion {
  if (baseline === undefined) return { version: '1.0.0', bump: 'initial', reason: 'first release of this model' };
  const current = semver.parse(baseline);
  if (!current) throw new Error(`The deployed version "${baseline}" is not semver`);
  if (comparison.breaking) {
    return {
      version: semver.inc(current, 'major') as string,
      bump: 'major',
      reason: 'the model contract changed in a way that breaks clients',
    };
  }
  if (comparison.primaryImproved) {
    return { version: semver.inc(current, 'minor') as string, bump: 'minor', reason: `${comparison.primary} improved` };
  }
  return {
    version: semver.inc(current, 'patch') as string,
    bump: 'patch',
    reason: `compatible contract, ${comparison.primary} did not improve`,
  };
}
