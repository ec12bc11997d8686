import { describe, expect, it } from 'vitest';
import { nextVersion } from '../../src/core/version.ts';

describe('nextVersion', () => {
  it.each([
    [undefined, false, false, '1.0.0', 'initial'],
    [undefined, true, true, '1.0.0', 'initial'],
    ['1.2.3', true, true, '2.0.0', 'major'],
    ['1.2.3', false, true, '1.3.0', 'minor'],
    ['1.2.3', false, false, '1.2.4', 'patch'],
  ] as const)('from %s (breaking %s, improved %s) → %s', (baseline, breaking, primaryImproved, version, bump) => {
    expect(nextVersion(baseline, { breaking, primaryImproved, primary: 'f1' })).toMatchObject({ version, bump });
  });

  it('rejects a deployed version that is not semver', () => {
    expect(() => nextVersion('v-latest', { breaking: false, primaryImproved: false, primary: 'f1' })).toThrow(
      /"v-latest" is not semver/,
    );
  });
});
