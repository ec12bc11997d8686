import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { wavesOf } from '../../src/core/config.ts';
import { parseConfig } from '../../src/core/config-parse.ts';

/** A fleet of `size` edge sites over three regions, and a cloud target. */
function fleet(size: number, waves: string): string {
  const regions = ['eu', 'us', 'apac'];
  const sites = Array.from(
    { length: size },
    (_, index) =>
      `  - { name: site-${index}, kind: edge, profile: jetson-orin-nano, memoryBudgetMb: 256, latencyBudgetMs: 20, labels: { region: ${regions[index % 3]}, ring: "${index % 10 === 0 ? 'early' : 'main'}" } }`,
  );
  return `model: pump\ntrain: { command: "true" }\nmetrics: { primary: f1, direction: maximize }\ntargets:\n${sites.join('\n')}\n  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 10, labels: { region: eu, ring: main } }\nrollout:\n  waves:\n${waves}\ngitops: { repo: x }\n`;
}

const rank = (name: string) => createHash('sha256').update(name).digest('hex');

describe('waves by selector and share', () => {
  const waves = [
    '    - { name: eu-1, selector: { region: eu }, percent: 1 }',
    '    - { name: eu-10, selector: { region: eu }, percent: 10 }',
    '    - { name: eu-all, selector: { region: eu } }',
    '    - { name: rest, selector: { ring: main } }',
    '    - { name: early, selector: { ring: early } }',
  ].join('\n');

  it('picks 10% of region eu by a hash of the name, the same targets every time, after the 1% before it', () => {
    const config = parseConfig(fleet(3000, waves), 'fleet.yml');
    const [first, second, third, rest, early] = wavesOf(config);
    // 1,000 sites in eu and the cloud: 11 in the first wave, 101 in the first two.
    const eu = config.targets.filter((target) => target.labels?.region === 'eu').map((target) => target.name);
    const ranked = [...eu].sort((a, b) => rank(a).localeCompare(rank(b)));
    expect(first?.targets).toEqual(ranked.slice(0, 11));
    expect(second?.targets).toEqual(ranked.slice(11, 101));
    expect(third?.targets).toHaveLength(eu.length - 101);
    expect([...(first?.targets ?? []), ...(second?.targets ?? [])].every((name) => eu.includes(name))).toBe(true);
    // Every target in exactly one wave; ring early outside eu lands in the last wave.
    const all = wavesOf(config).flatMap((wave) => wave.targets);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(config.targets.length);
    expect(rest?.targets.every((name) => !eu.includes(name))).toBe(true);
    expect(early?.targets).toEqual(expect.arrayContaining(['site-10']));
    // The same fleet parsed again picks the same targets.
    expect(wavesOf(parseConfig(fleet(3000, waves), 'fleet.yml'))[1]?.targets).toEqual(second?.targets);
  });

  it('pins which targets a share picks in a small fleet', () => {
    const config = parseConfig(
      fleet(
        30,
        [
          '    - { name: canary, selector: { region: eu }, percent: 10 }',
          '    - { name: all, selector: { ring: main } }',
          '    - { name: early, selector: { ring: early } }',
        ].join('\n'),
      ),
      'fleet.yml',
    );
    // 10 sites and the cloud in eu: ceil(1.1) = 2, the two of the lowest sha256 of the name
    // (`printf site-15 | sha256sum` starts 1218e24d, site-9 2fc6e048; the other nine are higher).
    expect(wavesOf(config)[0]?.targets).toEqual(['site-15', 'site-9']);
  });

  it('refuses a selector that matches nothing, a wave with both targets and a selector, and a share without a selector', () => {
    expect(() =>
      parseConfig(
        fleet(
          3,
          '    - { name: mars, selector: { region: mars } }\n    - { name: all, selector: { ring: main } }\n    - { name: early, selector: { ring: early } }',
        ),
        'fleet.yml',
      ),
    ).toThrow(
      /rollout\.waves\[0\]\.selector.*expected labels of at least one target \(targets\[\]\.labels\), found none matching \{"region":"mars"\}/,
    );
    expect(() =>
      parseConfig(fleet(3, '    - { name: both, targets: [site-0], selector: { region: eu } }'), 'fleet.yml'),
    ).toThrow(/expected `targets` or `selector`, one of them/);
    // A wave's name reaches GitHub environments, comments and markers: a DNS label, nothing that renders.
    expect(() =>
      parseConfig(fleet(3, '    - { name: "<img src=x onerror=alert(1)>", selector: { ring: main } }'), 'fleet.yml'),
    ).toThrow(/rollout\.waves\[0\]\.name.*expected a DNS label/);
    expect(() =>
      parseConfig(fleet(3, '    - { name: "[x](https://evil.example) -->", selector: { ring: main } }'), 'fleet.yml'),
    ).toThrow(/rollout\.waves\[0\]\.name/);
    expect(() => parseConfig(fleet(3, '    - { name: share, targets: [site-0], percent: 10 }'), 'fleet.yml')).toThrow(
      /expected `percent` only with a `selector`/,
    );
  });
});
