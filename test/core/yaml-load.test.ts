import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config-parse.ts';
import { loadYamlData } from '../../src/core/yaml-load.ts';

/** What edgeship's other reader, yaml's document, makes of the text; undefined for an error. */
function byDocument(text: string): unknown {
  const document = parseDocument(text);
  return document.errors.length > 0 ? undefined : document.toJS();
}

describe('loadYamlData', () => {
  // Where the YAML readers of the world disagree: each is read as yaml's document reads it, or
  // left to that document (undefined).
  const disputed = [
    'day: 2024-01-01\nat: 2001-12-14t21:59:43.10-05:00',
    'octal: 0o17\nold: 017\nhex: 0x1F\nbinary: 0b101\nsep: 1_000',
    'yes: yes\nno: no\non: on\ntrue: True\nnull: NULL\ntilde: ~\nempty:',
    'inf: .inf\nminus: -.Inf\nnan: .NaN\nexp: 1e3\nfloat: 1.',
    'base: &base { a: 1 }\nuse: *base',
    'base: &base { a: 1 }\nmerged:\n  <<: *base\n  b: 2',
    'bin: !!binary aGVsbG8=',
    'tag: !custom value',
    'key: 1\nkey: 2',
    'a: 1\n---\nb: 2',
    '? [a, b]\n: complex key',
    '"quoted": "line\\nbreak \\u00e9"\nfolded: >\n  one\n  two\nliteral: |\n  one\n  two',
    '',
    '# only a comment',
    'a: [1, 2\n',
  ];

  it.each(disputed)('reads %j as yaml does, or leaves it to yaml', (text) => {
    const fast = loadYamlData(text);
    if (fast !== undefined) expect(fast).toStrictEqual(byDocument(text));
  });

  it('leaves to yaml what only yaml reads alike: aliases, timestamps as tags, several documents, errors', () => {
    expect(loadYamlData('base: &base { a: 1 }\nuse: *base')).toBeUndefined();
    expect(loadYamlData('key: 1\nkey: 2')).toBeUndefined();
    expect(loadYamlData('a: 1\n---\nb: 2')).toBeUndefined();
    expect(loadYamlData('bin: !!binary aGVsbG8=')).toBeUndefined();
    expect(loadYamlData('a: [1, 2\n')).toBeUndefined();
    for (const key of ['? [a, b]\n: x', '? [a]\n: x', '[a]: x', '{ a: 1 }: x', '~: x', 'null: x', 'list:\n  - Null: x'])
      expect(loadYamlData(key), key).toBeUndefined();
    // A date stays text, as in yaml's core schema (js-yaml's default schema would make a Date).
    expect(loadYamlData('day: 2024-01-01')).toStrictEqual({ day: '2024-01-01' });
  });

  it('reads whatever yaml writes as yaml reads it back', () => {
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        scalar,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    let answered = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { minKeys: 1, maxKeys: 5 }), fc.boolean(), (data, flow) => {
        const text = stringify(data, flow ? { collectionStyle: 'flow' } : {});
        const fast = loadYamlData(text);
        if (fast !== undefined) expect(fast).toStrictEqual(byDocument(text));
        if (fast !== undefined) answered += 1;
      }),
      { numRuns: 300 },
    );
    // The fast way is the way taken: what yaml writes, js-yaml reads.
    expect(answered).toBeGreaterThan(250);
  });

  it('reads the example model repo config as the document does', () => {
    const text = readFileSync(new URL('../../model-repo-example/.github/edgeship.yml', import.meta.url), 'utf8');
    expect(loadYamlData(text)).toStrictEqual(byDocument(text));
  });
});

describe('a config read the fast way', () => {
  it('still names the line of a problem, and still bounds aliases', () => {
    expect(() =>
      parseConfig('model: pump\ntargets:\n  - name: a\n    kind: edge\n    latencyBudgetMs: -3\n', 'edgeship.yml'),
    ).toThrow(/line 5/);
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghi'
        .split('')
        .map((name, index) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghi'[index]}`).join(', ')}]`),
      'model: *i',
    ].join('\n');
    expect(() => parseConfig(laughs, 'edgeship.yml')).toThrow(
      /edgeship\.yml is not a valid edgeship .*invalid YAML: Excessive alias count/s,
    );
  });
});
