import { z } from 'zod';
import { targetSchema, type EdgeshipConfig } from './config.ts';
import { parseYamlWith } from './parse-yaml.ts';
import { ConfigError } from './errors.ts';
import { dnsLabel } from './formats.ts';

/** One file of the GitOps repo's target inventory, `targets/<name>.yaml`. */
const inventorySchema = z.strictObject({
  apiVersion: z.literal('edgeship.io/v1alpha1'),
  kind: z.literal('Target'),
  metadata: z.strictObject({ name: dnsLabel }).loose(),
  spec: targetSchema.omit({ name: true }).extend({
    site: dnsLabel.describe('The edgeship.io/site label of its cluster in Argo CD.'),
    cluster: z.string().min(1).describe('The cluster the site runs, as Argo CD names it.'),
    wave: z.strictObject({
      order: z.number().int().positive(),
      name: z.string().min(1),
      soakMinutes: z.number().nonnegative().default(10),
    }),
  }),
});

export type InventoryTarget = z.infer<typeof inventorySchema>;

/** Reads one inventory file; errors name the file, the field and its line. */
export function parseInventoryFile(text: string, file: string): InventoryTarget {
  const entry = parseYamlWith(
    inventorySchema,
    text,
    file,
    (issues) => new ConfigError(file, issues, { what: 'target inventory file' }),
  );
  const expected = `${entry.metadata.name}.yaml`;
  if (!file.endsWith(expected))
    throw new ConfigError(
      file,
      [
        `metadata.name: expected the file name without .yaml, found "${entry.metadata.name}" (rename the file to ${expected})`,
      ],
      { what: 'target inventory file' },
    );
  return entry;
}

/**
 * The `targets` and `rollout` of a model config from the inventory: targets in wave order and
 * then by name, waves by their order. Targets of one wave must agree on its name and soak time.
 */
export function inventoryToConfig(
  entries: { file: string; target: InventoryTarget }[],
): Pick<EdgeshipConfig, 'targets' | 'rollout'> {
  const sorted = [...entries].sort(
    (a, b) =>
      a.target.spec.wave.order - b.target.spec.wave.order ||
      a.target.metadata.name.localeCompare(b.target.metadata.name),
  );
  const waves = new Map<number, { name: string; soakMinutes: number; targets: string[]; file: string }>();
  const issues: string[] = [];
  for (const { file, target } of sorted) {
    const { wave } = target.spec;
    const known = waves.get(wave.order);
    if (known && (known.name !== wave.name || known.soakMinutes !== wave.soakMinutes)) {
      issues.push(
        `${file}: spec.wave: expected ${JSON.stringify({ name: known.name, soakMinutes: known.soakMinutes })} as in ${known.file} (same order ${wave.order}), found ${JSON.stringify({ name: wave.name, soakMinutes: wave.soakMinutes })}`,
      );
      continue;
    }
    if (known) known.targets.push(target.metadata.name);
    else
      waves.set(wave.order, { name: wave.name, soakMinutes: wave.soakMinutes, targets: [target.metadata.name], file });
  }
  if (issues.length > 0) throw new ConfigError('targets/', issues, { what: 'target inventory' });
  // site, cluster and wave describe the fleet; the rest is the config's target.
  const FLEET_ONLY = new Set(['site', 'cluster', 'wave']);
  const targets = sorted.map(({ target }) => ({
    name: target.metadata.name,
    ...(Object.fromEntries(Object.entries(target.spec).filter(([key]) => !FLEET_ONLY.has(key))) as Omit<
      InventoryTarget['spec'],
      'site' | 'cluster' | 'wave'
    >),
  }));
  const rollout = {
    waves: [...waves.values()].map(({ name, soakMinutes, targets: names }) => ({ name, soakMinutes, targets: names })),
  };
  // The config's cross-target rules, said of the inventory's files.
  for (const { file, target } of sorted) {
    const { kind, memoryBudgetMb, offloadTo, site } = target.spec;
    // Sites and targets are one concept: edgeship writes sites/<target name>, and the ApplicationSet
    // renders sites/<site label> as the Application edgeship-<site label>.
    if (site !== target.metadata.name) {
      issues.push(
        `${file}: spec.site: expected "${target.metadata.name}" (the target's name: edgeship writes sites/${target.metadata.name}, and Argo CD renders the path of the site label; label the cluster edgeship.io/site=${target.metadata.name}), found "${site}"`,
      );
    }
    if (kind === 'edge' && memoryBudgetMb === undefined)
      issues.push(`${file}: spec.memoryBudgetMb: expected a memory budget for an edge target, found none`);
    if (
      offloadTo !== undefined &&
      !sorted.some((other) => other.target.metadata.name === offloadTo && other.target.spec.kind === 'cloud')
    ) {
      issues.push(
        `${file}: spec.offloadTo: expected the name of a cloud target in the inventory, found "${offloadTo}"`,
      );
    }
  }
  if (issues.length > 0) throw new ConfigError('targets/', issues, { what: 'target inventory' });
  return { targets, rollout };
}
