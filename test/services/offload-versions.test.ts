import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { planGitOpsChange } from '../../src/services/apply.ts';
import { retainedOf } from '../../src/serve/options.ts';
import { evaluationReport, exampleConfigText } from '../helpers/release-world.ts';

const digest = (char: string) => `sha256:${char.repeat(64)}`;
const CLOUD = 'sites/cloud/pump-forecaster/kustomization.yaml';
const cloudLiterals = (files: Map<string, string>) =>
  (parse(files.get(CLOUD) ?? '') as { configMapGenerator: { literals: string[] }[] }).configMapGenerator[0]?.literals ??
  [];

/** Releases of pump-forecaster into an in-memory GitOps repo, with `site` placed `choice` (forwarding to the cloud). */
async function gitopsWorld(site: string, choice: 'offload' | 'adaptive') {
  const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
  const base = await evaluationReport();
  const files = new Map<string, string>();
  const release = async (version: string, char: string, targets?: string[]) => {
    const report: EvaluationReport = {
      ...base,
      version: { ...base.version, version },
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest(char)}`, digest: digest(char) },
      placement: base.placement.map((decision) =>
        decision.target === site ? { ...decision, choice, offloadTo: 'cloud' } : decision,
      ),
    };
    const writes = await planGitOpsChange(config, report, {
      ...(targets && { targets }),
      rollout: { status: 'rolling-out', waves: {} },
    })(async (path) => files.get(path));
    for (const write of writes) files.set(write.path, write.content);
  };
  return { files, release };
}

describe('offloading never crosses contracts', () => {
  it('has the cloud target serve the version each offloading site was released with, from its canary wave until no site runs it', async () => {
    const { files, release } = await gitopsWorld('substation-east', 'offload');
    await release('1.0.0', 'a');
    expect(cloudLiterals(files)).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/models/pump-forecaster@${digest('a')}`,
      'EDGESHIP_MODEL_VERSION=1.0.0',
    ]);
    // The canary wave: substation-east offloads 2.0.0 while the cloud's own wave is still to come.
    await release('2.0.0', 'b', ['substation-east']);
    const retained = `EDGESHIP_RETAINED_MODELS=2.0.0=ghcr.io/acme/models/pump-forecaster@${digest('b')}`;
    expect(cloudLiterals(files)).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/models/pump-forecaster@${digest('a')}`,
      'EDGESHIP_MODEL_VERSION=1.0.0',
      retained,
    ]);
    expect(retainedOf(retained.slice('EDGESHIP_RETAINED_MODELS='.length))).toEqual([
      { version: '2.0.0', reference: `ghcr.io/acme/models/pump-forecaster@${digest('b')}` },
    ]);
    await release('2.0.0', 'b', ['plant-north', 'plant-south']);
    expect(cloudLiterals(files)).toContain(retained);
    // The cloud's wave: it runs 2.0.0 itself, and no site forwards to another version.
    await release('2.0.0', 'b', ['cloud']);
    expect(cloudLiterals(files)).toEqual([
      `EDGESHIP_MODEL=ghcr.io/acme/models/pump-forecaster@${digest('b')}`,
      'EDGESHIP_MODEL_VERSION=2.0.0',
    ]);
  });

  it('keeps the version an adaptive canary site forwards to on the cloud too', async () => {
    const { files, release } = await gitopsWorld('plant-north', 'adaptive');
    await release('1.0.0', 'a');
    await release('2.0.0', 'b', ['plant-north']);
    expect(cloudLiterals(files)).toContain(
      `EDGESHIP_RETAINED_MODELS=2.0.0=ghcr.io/acme/models/pump-forecaster@${digest('b')}`,
    );
    const north =
      (
        parse(files.get('sites/plant-north/pump-forecaster/kustomization.yaml') ?? '') as {
          configMapGenerator: { literals: string[] }[];
        }
      ).configMapGenerator[0]?.literals ?? [];
    expect(north).toEqual(
      expect.arrayContaining([
        `EDGESHIP_MODEL=ghcr.io/acme/models/pump-forecaster@${digest('b')}`,
        'EDGESHIP_MODEL_VERSION=2.0.0',
        expect.stringMatching(/^EDGESHIP_OFFLOAD_URL=https:\/\//) as string,
      ]),
    );
  });

  it('refuses a retained list that is not version=reference pinned by digest', () => {
    expect(() => retainedOf('2.0.0=ghcr.io/acme/pump:latest')).toThrow(
      '--retained (EDGESHIP_RETAINED_MODELS): expected version=reference pinned by digest, found "2.0.0=ghcr.io/acme/pump:latest"',
    );
    expect(retainedOf(' ')).toEqual([]);
  });
});
