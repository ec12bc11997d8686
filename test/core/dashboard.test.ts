import { describe, expect, it } from 'vitest';
import { tickedActions, tickedBoxes } from '../../src/core/dashboard.ts';

describe('tickedActions', () => {
  it.each([
    ['a ticked promote', '- [x] <!-- edgeship:promote:ten --> Promote', [{ kind: 'promote', wave: 'ten' }]],
    ['an upper-case tick', '- [X] <!-- edgeship:rollback:canary --> Roll back', [{ kind: 'rollback', wave: 'canary' }]],
    [
      'a hold released',
      '- [x] <!-- edgeship:release-hold:site-3 --> Release',
      [{ kind: 'release-hold', target: 'site-3' }],
    ],
    ['an unticked box', '- [ ] <!-- edgeship:promote:ten --> Promote', []],
    [
      'a name outside the grammar',
      '- [x] <!-- edgeship:release-hold:../etc --> x\n- [x] <!-- edgeship:rollback:A B --> y',
      [],
    ],
    ['an action edgeship does not know', '- [x] <!-- edgeship:delete-fleet:all --> z', []],
    [
      'a box inside a quote or indented',
      '> - [x] <!-- edgeship:promote:ten -->\n  - [x] <!-- edgeship:promote:ten -->',
      [],
    ],
    [
      'two boxes, one ticked',
      '- [ ] <!-- edgeship:promote:rest --> a\n- [x] <!-- edgeship:rollback:ten --> b',
      [{ kind: 'rollback', wave: 'ten' }],
    ],
  ])('reads %s', (_case, body, actions) => {
    expect(tickedActions(body)).toEqual(actions);
  });

  it("reads who a kept box names, and names no one for a login outside GitHub's grammar", () => {
    expect(tickedBoxes('- [x] <!-- edgeship:rollback:ten --> <!-- edgeship:by:octo-cat --> Roll')).toEqual([
      { action: { kind: 'rollback', wave: 'ten' }, by: 'octo-cat' },
    ]);
    expect(tickedBoxes('- [x] <!-- edgeship:rollback:ten --> <!-- edgeship:by:a b --> Roll')).toEqual([
      { action: { kind: 'rollback', wave: 'ten' } },
    ]);
  });
});
