import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../../src/adapters/fs/inventory-files.ts';
import { loadConfig } from '../../../src/adapters/fs/config-file.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { inventoryToConfig, parseInventoryFile } from '../../../src/core/inventory.ts';
import { ROOT } from '../../helpers/fixtures.ts';

const target = (name: string, spec: string) =>
  `apiVersion: edgeship.io/v1alpha1\nkind: Target\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const edge = (wave: string, extra = '') =>
  `  kind: edge\n  site: s\n  cluster: c\n  profile: jetson-xavier-nx\n  memoryBudgetMb: 100\n  latencyBudgetMs: 10\n  wave: ${wave}\n${extra}`;

describe('target inventory', () => {
  it("of the GitOps template gives exactly the example model's targets and waves", async () => {
    const inventory = await readInventory(join(ROOT, 'templates/gitops'));
    const example = await loadConfig(join(ROOT, 'model-repo-example'));
    expect(inventory.rollout).toEqual(example.rollout);
    expect([...inventory.targets].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...example.targets].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('names the file, field and line of a bad entry', () => {
    const text = target(
      'north',
      edge('{ order: 1, name: canary }').replace('latencyBudgetMs: 10', 'latencyBudgetMs: soon'),
    );
    expect(() => parseInventoryFile(text, 'targets/north.yaml')).toThrow(
      'targets/north.yaml is not a valid target inventory file:\n  - spec.latencyBudgetMs (line 11): expected number, found "soon"',
    );
    expect(() => parseInventoryFile(target('north', edge('{ order: 1, name: canary }')), 'targets/south.yaml')).toThrow(
      'metadata.name: expected the file name without .yaml, found "north" (rename the file to north.yaml)',
    );
  });

  it("refuses a site label other than the target's name: nothing would write that Application's path, and two targets would share one Application", () => {
    const north = {
      file: 'targets/plant-north.yaml',
      target: parseInventoryFile(
        target('plant-north', edge('{ order: 1, name: canary }').replace('site: s', 'site: north-plant')),
        'targets/plant-north.yaml',
      ),
    };
    const south = {
      file: 'targets/plant-south.yaml',
      target: parseInventoryFile(
        target('plant-south', edge('{ order: 1, name: canary }').replace('site: s', 'site: plant-north')),
        'targets/plant-south.yaml',
      ),
    };
    expect(() => inventoryToConfig([north, south])).toThrow(
      'targets/plant-north.yaml: spec.site: expected "plant-north" (the target\'s name: edgeship writes sites/plant-north, and Argo CD renders the path of the site label; label the cluster edgeship.io/site=plant-north), found "north-plant"\n  - targets/plant-south.yaml: spec.site: expected "plant-south"',
    );
  });

  it('refuses targets that disagree on their wave, and an offloadTo that is not a cloud target', () => {
    const a = {
      file: 'targets/a.yaml',
      target: parseInventoryFile(target('a', edge('{ order: 1, name: canary, soakMinutes: 15 }')), 'targets/a.yaml'),
    };
    const b = {
      file: 'targets/b.yaml',
      target: parseInventoryFile(target('b', edge('{ order: 1, name: first }', '  offloadTo: a\n')), 'targets/b.yaml'),
    };
    expect(() => inventoryToConfig([a, b])).toThrow(ConfigError);
    expect(() => inventoryToConfig([a, b])).toThrow(
      'targets/b.yaml: spec.wave: expected {"name":"canary","soakMinutes":15} as in targets/a.yaml (same order 1), found {"name":"first","soakMinutes":10}',
    );
    const c = {
      file: 'targets/c.yaml',
      target: parseInventoryFile(target('c', edge('{ order: 2, name: rest }', '  offloadTo: a\n')), 'targets/c.yaml'),
    };
    expect(() => inventoryToConfig([a, c])).toThrow(
      'targets/c.yaml: spec.offloadTo: expected the name of a cloud target in the inventory, found "a"',
    );
  });
});
