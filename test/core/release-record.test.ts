import { describe, expect, it } from 'vitest';
import { GitOpsError } from '../../src/core/errors.ts';
import {
  historyOf,
  HISTORY_LENGTH,
  parseReleaseRecord,
  readReleaseRecord,
  recordAfter,
  releaseRecordPath,
  targetReference,
  writeReleaseRecord,
  type RecordUpdate,
  type TargetWrite,
} from '../../src/core/release-record.ts';

const digest = (char: string) => `sha256:${char.repeat(64)}`;
type Placed = { name: string; choice: TargetWrite['placement']; offloadTo?: string };
const update = (version: string, char: string, targets: Placed[]): RecordUpdate => ({
  model: 'pump',
  release: { version, reference: `ghcr.io/org/pump@${digest(char)}`, digest: digest(char) },
  targets: targets.map(({ name, choice, offloadTo }) => ({
    name,
    placement: choice,
    version,
    digest: digest(char),
    ...(offloadTo && { offloadTo }),
  })),
});
const v1 = update('1.0.0', 'a', [
  { name: 'site-a', choice: 'edge' },
  { name: 'cloud', choice: 'cloud' },
]);

describe('release record', () => {
  it.each([
    [
      'version',
      (text: string) => text.replace('version: 1.0.0', 'version: "1.0.0\\r  image: evil"'),
      'version: expected a semantic version such as 1.2.3',
    ],
    [
      'artifact reference',
      (text: string) => text.replace(/reference: \S+/, 'reference: "evil.io/x:latest"'),
      'artifact.reference: expected an artifact reference pinned by digest',
    ],
    ['target name', (text: string) => text.replace('site-a:', '"../etc":'), 'targets.../etc: Invalid key in record'],
  ])('refuses a record whose %s someone with access to the GitOps repo made hostile', (_what, edit, error) => {
    expect(() => parseReleaseRecord(edit(writeReleaseRecord(undefined, v1)), 'r.yaml')).toThrow(
      `r.yaml: not an edgeship release record: ${error}`,
    );
  });

  it('names the image a target deploys, and keeps the one it ran before for a rollback', () => {
    const image = (char: string) => `ghcr.io/org/pump@${digest(char)}`;
    const packaged = (version: string, char: string, imageChar: string): RecordUpdate => ({
      ...update(version, char, []),
      targets: [{ name: 'site-a', placement: 'edge', version, digest: digest(char), package: image(imageChar) }],
    });
    const first = writeReleaseRecord(undefined, packaged('1.0.0', 'a', 'c'));
    expect(parseReleaseRecord(first, 'r.yaml').targets['site-a']).toMatchObject({ package: image('c') });
    const second = parseReleaseRecord(writeReleaseRecord(first, packaged('1.1.0', 'b', 'd')), 'r.yaml');
    expect(second.targets['site-a']).toMatchObject({
      package: image('d'),
      previous: { version: '1.0.0', package: image('c') },
    });
    // Back to the artifact: the package goes.
    expect(
      parseReleaseRecord(
        writeReleaseRecord(
          writeReleaseRecord(first, packaged('1.1.0', 'b', 'd')),
          update('1.2.0', 'e', [{ name: 'site-a', choice: 'edge' }]),
        ),
        'r.yaml',
      ).targets['site-a'],
    ).not.toHaveProperty('package');
    expect(() => parseReleaseRecord(first.replace(image('c'), 'ghcr.io/org/pump:latest'), 'r.yaml')).toThrow(
      'targets.site-a.package: expected an artifact reference pinned by digest',
    );
  });

  it.each<[string, RecordUpdate[], RecordUpdate]>([
    ['a first release', [], v1],
    [
      'a new version, keeping what ran before',
      [v1],
      update('1.1.0', 'b', [
        { name: 'site-a', choice: 'offload', offloadTo: 'cloud' },
        { name: 'site-b', choice: 'edge' },
      ]),
    ],
    ['the same version again', [v1], v1],
    [
      'an offloading site back at the edge',
      [update('1.0.0', 'a', [{ name: 'site-a', choice: 'offload', offloadTo: 'cloud' }])],
      update('1.1.0', 'b', [{ name: 'site-a', choice: 'edge' }]),
    ],
    ['a pin and a hold set', [v1], { model: 'pump', marks: [{ name: 'site-a', pin: 'offload', hold: 'maintenance' }] }],
    [
      'a pin kept and a hold lifted through a release',
      [v1, { model: 'pump', marks: [{ name: 'site-a', pin: 'edge', hold: 'x' }] }],
      { ...update('1.1.0', 'b', [{ name: 'site-a', choice: 'edge' }]), marks: [{ name: 'site-a', hold: null }] },
    ],
  ])('knows what the record holds after %s without writing it', (_case, before, next) => {
    const text = before.reduce<string | undefined>((current, step) => writeReleaseRecord(current, step), undefined);
    const record = text === undefined ? undefined : parseReleaseRecord(text, 'r.yaml');
    const written = parseReleaseRecord(writeReleaseRecord(text, next), 'r.yaml');
    expect(recordAfter(record, next)).toEqual({ artifact: written.artifact, targets: written.targets });
  });

  it('is created with a header and reads back', () => {
    const text = writeReleaseRecord(undefined, v1);
    expect(text.startsWith('# Release record of pump, written by edgeship.')).toBe(true);
    expect(parseReleaseRecord(text, 'r.yaml')).toMatchObject({
      model: 'pump',
      version: '1.0.0',
      artifact: { digest: digest('a') },
      targets: { 'site-a': { placement: 'edge', version: '1.0.0' } },
    });
  });

  it('changes only bot-owned values and keeps everything else byte for byte', () => {
    const offloaded = (version: string, char: string) =>
      update(version, char, [{ name: 'site-a', choice: 'offload', offloadTo: 'cloud' }]);
    // Released twice, so site-a has a previous release: from then on every owned value exists.
    const human = writeReleaseRecord(
      writeReleaseRecord(
        undefined,
        update('1.0.0', 'a', [
          { name: 'site-a', choice: 'offload', offloadTo: 'cloud' },
          { name: 'cloud', choice: 'cloud' },
        ]),
      ),
      offloaded('1.0.1', 'c'),
    )
      .replace('version: 1.0.1\n', 'version: "1.0.1"   # bumped by the bot\n')
      .replace('targets:\n', 'owner: team-pumps # ours\n\ntargets:\n  # the canary site\n')
      .concat('# trailing note\n');
    const next = writeReleaseRecord(human, offloaded('1.1.0', 'b'));
    const expected = human
      .replace('version: "1.0.1"   #', 'version: "1.1.0"   #')
      .replace(`reference: ghcr.io/org/pump@${digest('c')}`, `reference: ghcr.io/org/pump@${digest('b')}`)
      .replace(`  digest: ${digest('c')}`, `  digest: ${digest('b')}`)
      .replace(
        `placement: offload\n    version: 1.0.1\n    digest: ${digest('c')}\n`,
        `placement: offload\n    version: 1.1.0\n    digest: ${digest('b')}\n`,
      )
      .replace(
        `previous:\n      version: 1.0.0\n      digest: ${digest('a')}\n`,
        `previous:\n      version: 1.0.1\n      digest: ${digest('c')}\n`,
      );
    expect(next).toBe(expected);
    expect(next).toContain(`cloud:\n    placement: cloud\n    version: 1.0.0\n    digest: ${digest('a')}`);
  });

  it('keeps what a target ran before as its rollback target', () => {
    const record = parseReleaseRecord(
      writeReleaseRecord(
        writeReleaseRecord(undefined, v1),
        update('1.1.0', 'b', [{ name: 'site-a', choice: 'offload', offloadTo: 'cloud' }]),
      ),
      'r.yaml',
    );
    expect(record.targets['site-a']).toMatchObject({
      version: '1.1.0',
      previous: { version: '1.0.0', digest: digest('a'), placement: 'edge' },
    });
    expect(record.targets.cloud).not.toHaveProperty('previous');
    expect(targetReference(record, digest('a'))).toBe(`ghcr.io/org/pump@${digest('a')}`);
  });

  it('starts the waves over with a new release and keeps pins and holds', () => {
    const first = writeReleaseRecord(undefined, {
      ...v1,
      rollout: { status: 'rolling-out', waves: { canary: 't1', plants: 't2' } },
    });
    const pinned = writeReleaseRecord(first, {
      model: 'pump',
      marks: [
        { name: 'site-a', pin: 'offload' },
        { name: 'cloud', hold: 'hand rollback' },
      ],
    });
    const next = parseReleaseRecord(
      writeReleaseRecord(pinned, {
        ...update('1.1.0', 'b', [{ name: 'site-a', choice: 'offload' }]),
        rollout: { status: 'rolling-out', waves: { canary: 't3' } },
      }),
      'r.yaml',
    );
    expect(next.rollout).toEqual({ status: 'rolling-out', waves: { canary: 't3' } });
    expect(next.targets['site-a']?.pin).toBe('offload');
    expect(next.targets.cloud?.hold).toBe('hand rollback');
    expect(
      parseReleaseRecord(
        writeReleaseRecord(pinned, { model: 'pump', marks: [{ name: 'site-a', pin: null }] }),
        'r.yaml',
      ).targets['site-a'],
    ).not.toHaveProperty('pin');
  });

  it('keeps comments when a release adds fields', () => {
    const human = writeReleaseRecord(undefined, v1).replace(
      'targets:\n',
      'owner: team-pumps # ours\ntargets:\n  # the canary site\n',
    );
    const next = writeReleaseRecord(
      human,
      update('1.1.0', 'b', [
        { name: 'site-a', choice: 'offload', offloadTo: 'cloud' },
        { name: 'site-b', choice: 'edge' },
      ]),
    );
    expect(next).toContain(
      'owner: team-pumps # ours\ntargets:\n  # the canary site\n  site-a:\n    placement: offload\n',
    );
    expect(parseReleaseRecord(next, 'r.yaml').targets).toMatchObject({
      'site-a': { offloadTo: 'cloud' },
      'site-b': { placement: 'edge', version: '1.1.0' },
    });
  });

  it('keeps every other line byte for byte when a release adds previous and a new target, also in held targets', () => {
    const human = writeReleaseRecord(undefined, v1)
      .replace('targets:\n', 'owner: team-pumps # ours\nnotify: [ana, ben] # flow style stays\ntargets:\n')
      .replace(/(  cloud:\n)/, '$1    hold: maintenance # until Friday\n');
    const next = writeReleaseRecord(
      human,
      update('1.1.0', 'b', [
        { name: 'site-a', choice: 'offload', offloadTo: 'cloud' },
        { name: 'site-b', choice: 'edge' },
      ]),
    );
    const added = next.split('\n').filter((line) => !human.split('\n').includes(line));
    const removed = human.split('\n').filter((line) => !next.split('\n').includes(line));
    expect(
      removed.every((line) => /version: 1\.0\.0|digest: |reference: |placement: edge/.test(line)),
      removed.join('\n'),
    ).toBe(true);
    expect(next).toContain('owner: team-pumps # ours\nnotify: [ana, ben] # flow style stays\n');
    expect(next).toContain('  cloud:\n    hold: maintenance # until Friday\n');
    expect(added.join('\n')).toContain('    previous:\n      version: 1.0.0');
    expect(parseReleaseRecord(next, 'r.yaml').targets).toMatchObject({
      'site-a': { placement: 'offload', offloadTo: 'cloud', previous: { version: '1.0.0' } },
      'site-b': { version: '1.1.0' },
      cloud: { hold: 'maintenance' },
    });
  });

  it('writes the same from a record parsed once as from its text, also twice from one parse and with anchors', () => {
    const text = writeReleaseRecord(undefined, v1);
    const next = update('1.1.0', 'b', [
      { name: 'site-a', choice: 'offload', offloadTo: 'cloud' },
      { name: 'cloud', choice: 'cloud' },
    ]);
    const expected = writeReleaseRecord(text, next);
    const parsed = readReleaseRecord(text, 'r.yaml');
    // The first write takes the parse (and changes its data); the second reads the text again.
    expect(writeReleaseRecord(parsed, next)).toBe(expected);
    expect(writeReleaseRecord(parsed, next)).toBe(expected);
    expect(parsed.record.targets['site-a']).toMatchObject({ version: '1.0.0', placement: 'edge' });
    expect(parsed.record.targets['site-a']?.previous).toBeUndefined();
    // With an alias the parse's data is not taken (toJS shares the anchor's object): the same text still.
    const withAlias = `${text}extra: &shared { note: kept }\nmore: *shared\n`;
    const fromParse = writeReleaseRecord(readReleaseRecord(withAlias, 'r.yaml'), next);
    expect(fromParse).toBe(writeReleaseRecord(withAlias, next));
    expect(fromParse).toContain('extra: &shared { note: kept }\nmore: *shared\n');
  });

  it('leaves targets outside the update alone (a rollout wave)', () => {
    const next = parseReleaseRecord(
      writeReleaseRecord(writeReleaseRecord(undefined, v1), update('1.1.0', 'b', [{ name: 'site-a', choice: 'edge' }])),
      'r.yaml',
    );
    expect(next.targets.cloud).toMatchObject({ version: '1.0.0', digest: digest('a') });
    expect(next.targets['site-a']).toMatchObject({ version: '1.1.0', digest: digest('b') });
  });

  it('removes offloadTo when a site moves back to the edge', () => {
    const offloaded = writeReleaseRecord(
      undefined,
      update('1.0.0', 'a', [{ name: 'site-a', choice: 'offload', offloadTo: 'cloud' }]),
    );
    const edge = parseReleaseRecord(
      writeReleaseRecord(offloaded, update('1.0.1', 'c', [{ name: 'site-a', choice: 'edge' }])),
      'r.yaml',
    ).targets['site-a'];
    expect(edge).not.toHaveProperty('offloadTo');
    expect(edge?.previous).toMatchObject({ placement: 'offload', offloadTo: 'cloud' });
  });

  it('returns the same string when nothing changes', () => {
    const text = writeReleaseRecord(undefined, v1);
    expect(writeReleaseRecord(text, v1)).toBe(text);
  });

  it('names the file when a record is broken', () => {
    expect(() => parseReleaseRecord('model: pump\nversion: [', 'models/pump/release.yaml')).toThrow(
      /models\/pump\/release\.yaml: invalid YAML/,
    );
    expect(() =>
      parseReleaseRecord(
        'model: pump\nversion: 1.0.0\nartifact: { reference: x, digest: md5:1 }\n',
        'models/pump/release.yaml',
      ),
    ).toThrow(GitOpsError);
  });

  it('refuses a record that names a target twice, and edits each of 2,000 targets', () => {
    const text = writeReleaseRecord(undefined, v1);
    const twice = text.replace(/^targets:\n/m, (head) => `${head}  site-a:\n    version: 0.9.0\n`);
    expect(() => parseReleaseRecord(twice, 'models/pump/release.yaml')).toThrow(
      'models/pump/release.yaml: invalid YAML: Map keys must be unique: "site-a" appears twice',
    );
    const many = {
      ...v1,
      targets: Array.from(
        { length: 2000 },
        (_, index) => ({ ...v1.targets?.[0], name: `site-${index}` }) as NonNullable<RecordUpdate['targets']>[number],
      ),
    };
    const fleet = writeReleaseRecord(undefined, many);
    const next = writeReleaseRecord(fleet, {
      ...many,
      release: { ...v1.release!, version: '1.0.1' },
      targets: many.targets.map((target) => ({ ...target, version: '1.0.1' })),
    });
    const record = parseReleaseRecord(next, 'release.yaml');
    expect([
      record.version,
      Object.keys(record.targets).length,
      record.targets['site-1999']?.version,
      record.targets['site-1999']?.previous?.version,
    ]).toEqual(['1.0.1', 2000, '1.0.1', '1.0.0']);
  });

  it("keeps the primary metric of the last releases, oldest first, for the report's trend", () => {
    const released = (version: string, value: number): RecordUpdate => ({
      ...update(version, 'a', []),
      release: {
        version,
        reference: `ghcr.io/org/pump@${digest('a')}`,
        digest: digest('a'),
        primary: { metric: 'f1', value },
      },
    });
    let text = writeReleaseRecord(undefined, released('1.0.0', 0.5));
    const human = text.replace('artifact:', '# our note\nartifact:');
    text = writeReleaseRecord(human, released('1.1.0', 0.61));
    expect(text).toContain('# our note\n');
    for (let minor = 2; minor <= 12; minor += 1)
      text = writeReleaseRecord(text, released(`1.${minor}.0`, 0.5 + minor / 100));
    // Applied again, a release does not count twice.
    text = writeReleaseRecord(text, released('1.12.0', 0.99));
    const history = historyOf(parseReleaseRecord(text, 'r.yaml'), 'f1');
    expect(history).toHaveLength(HISTORY_LENGTH);
    expect(history[0]).toEqual({ version: '1.3.0', value: 0.53 });
    expect(history.at(-1)).toEqual({ version: '1.12.0', value: 0.62 });
    // Another metric's entries (the primary metric was changed) are not this metric's trend.
    expect(historyOf(parseReleaseRecord(text, 'r.yaml'), 'mae')).toEqual([]);
    expect(() => parseReleaseRecord(text.replace('value: 0.62', 'value: "<img src=x>"'), 'r.yaml')).toThrow(
      'r.yaml: not an edgeship release record: history.1.12.0.value',
    );
  });

  it('puts the record under the GitOps path', () => {
    expect(releaseRecordPath('models/', 'pump')).toBe('models/pump/release.yaml');
  });
});
