import { parseSiteAnalysis } from '../../src/core/analysis.ts';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config-parse.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { overlayPath } from '../../src/core/overlays.ts';
import { planGitOpsChange } from '../../src/services/apply.ts';
import { evaluationReport, exampleConfigText } from '../helpers/release-world.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('applying some targets', () => {
  it('marks as sent only the waves whose every target it wrote, so the rollout never takes the others for hand edits', async () => {
    const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
    const report: EvaluationReport = {
      ...(await evaluationReport()),
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest}`, digest },
    };
    const waves = async (targets?: string[]) => {
      const writes = await planGitOpsChange(config, report, targets ? { targets } : {})(async () => undefined);
      const record = writes.find((write) => write.path.endsWith('release.yaml'));
      return Object.keys(parseReleaseRecord(record?.content ?? '', 'release.yaml').rollout?.waves ?? {});
    };
    // canary: substation-east; plants: plant-north, plant-south; cloud: cloud.
    expect(await waves(['substation-east', 'plant-north'])).toEqual(['canary']);
    expect(await waves(['plant-north', 'plant-south', 'cloud'])).toEqual(['plants', 'cloud']);
    expect(await waves()).toEqual(['canary', 'plants', 'cloud']);
  });

  it("writes nothing for a wave the record says went out: a replica that lost the race to send it applies its change again after the winner's commit", async () => {
    const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
    const report: EvaluationReport = {
      ...(await evaluationReport()),
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest}`, digest },
    };
    const files = new Map<string, string>();
    const send = (wave: string, targets: string[], at: string) =>
      planGitOpsChange(config, report, { targets, rollout: { status: 'rolling-out', waves: { [wave]: at } } })(
        async (path) => files.get(path),
      );
    for (const write of await send('canary', ['substation-east'], '2026-12-07T10:00:00.000Z'))
      files.set(write.path, write.content);
    expect(await send('canary', ['substation-east'], '2026-12-07T10:00:00.006Z')).toEqual([]);
    // The next wave is written, and the canary keeps the time it went out.
    const plants = await send('plants', ['plant-north', 'plant-south'], '2026-12-07T11:00:00.000Z');
    const record = parseReleaseRecord(
      plants.find((write) => write.path.endsWith('release.yaml'))?.content ?? '',
      'release.yaml',
    );
    expect(record.rollout?.waves).toEqual({ canary: '2026-12-07T10:00:00.000Z', plants: '2026-12-07T11:00:00.000Z' });
  });

  it("writes the config's serving.batching: false into the overlay of every target that runs the model, the cloud's too", async () => {
    const text = `${await exampleConfigText()}serving:\n  batching: false\n`;
    const config = parseConfig(text, 'edgeship.yml');
    const report: EvaluationReport = {
      ...(await evaluationReport()),
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest}`, digest },
    };
    const overlays = (await planGitOpsChange(config, report)(async () => undefined)).filter(
      (write) => write.path === overlayPath(write.path.split('/')[1] ?? '', config.model),
    );
    expect(overlays.map((overlay) => overlay.path.split('/')[1]).sort()).toEqual([
      'cloud',
      'plant-north',
      'plant-south',
      'substation-east',
    ]);
    for (const overlay of overlays) {
      const offloaded = overlay.content.includes('base/offload-forwarder');
      expect(overlay.content.includes('EDGESHIP_MAX_BATCH_ROWS=0'), overlay.path).toBe(!offloaded);
    }
    const defaults = await planGitOpsChange(
      parseConfig(await exampleConfigText(), 'edgeship.yml'),
      report,
    )(async () => undefined);
    expect(defaults.some((write) => write.content.includes('EDGESHIP_MAX_BATCH_ROWS'))).toBe(false);
  });

  it("writes the rollout's analysis into every site's overlay, with the site's budget and its wave's soak", async () => {
    const text = (await exampleConfigText()).replace(
      /^rollout:\n {2}waves:\n/m,
      'rollout:\n  analysis: { intervalSeconds: 30, failureLimit: 4, maxDriftPsi: 0.3 }\n  waves:\n',
    );
    const config = parseConfig(text, 'edgeship.yml');
    const report: EvaluationReport = {
      ...(await evaluationReport()),
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest}`, digest },
    };
    const writes = await planGitOpsChange(config, report)(async () => undefined);
    const overlay = writes.find((write) => write.path === overlayPath('plant-north', config.model))?.content ?? '';
    const literal = /EDGESHIP_ANALYSIS=(\S+)/.exec(overlay)?.[1] ?? '';
    // plant-north: a 25 ms budget, in a wave that soaks 10 minutes (the default): 20 intervals of 30 s, and two more.
    expect(literal).toBe('interval=30,failures=4,min=20,success=0.99,p99=1,psi=0.3,budget=25,intervals=22');
    expect(parseSiteAnalysis(literal, (why) => new Error(why))).toEqual({
      analysis: {
        intervalSeconds: 30,
        failureLimit: 4,
        minRequests: 20,
        successRate: 0.99,
        p99WithinBudget: true,
        maxDriftPsi: 0.3,
        passShare: 1,
        passOnNoTraffic: false,
      },
      budgetMs: 25,
      intervals: 22,
    });
  });
});
