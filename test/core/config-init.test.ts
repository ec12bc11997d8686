import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initConfigText } from '../../src/core/config-init.ts';

describe('initConfigText', () => {
  it('keeps names from the model and metrics.json inside their comments, whatever they hold', () => {
    const text = initConfigText({
      model: 'sensor',
      command: 'python3 train.py',
      outputs: 'out',
      gitops: '../gitops.git',
      contract: {
        inputs: [{ name: 'x\ngitops: { repo: evil }', dtype: 'float32', shape: ['batch', 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['batch'] }],
        opset: 17,
      },
      metrics: { 'acc\nmodel: evil': 0.9 },
      inventory: { targets: [{ name: 'cloud', kind: 'cloud', profile: 'cloud-cpu', latencyBudgetMs: 10, rttMs: 0 }] },
    });
    const parsed = parse(text) as { model: string; gitops: { repo: string }; metrics: { primary: string } };
    expect(parsed.model).toBe('sensor');
    expect(parsed.gitops.repo).toBe('../gitops.git');
    expect(parsed.metrics.primary).toBe('acc\nmodel: evil');
    expect(text).toContain('#   input  x gitops: { repo: evil }: float32 [batch, 4]');
  });
});

describe('the gates init writes', () => {
  const text = (metrics: Record<string, number>, primary?: string) =>
    initConfigText({
      model: 'sensor',
      command: 'python3 train.py',
      outputs: 'out',
      gitops: '../gitops.git',
      contract: {
        inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['batch'] }],
        opset: 17,
      },
      metrics,
      ...(primary && { primary }),
      inventory: { targets: [{ name: 'cloud', kind: 'cloud', profile: 'cloud-cpu', latencyBudgetMs: 10, rttMs: 0 }] },
    });

  it('gates the primary metric and the metrics whose names say which way is better, and only suggests the rest', () => {
    const written = text({
      anomaly_f1: 0.8,
      val_mae: 0.2,
      train_seconds: 0.12,
      roc_auc: 0.9,
      rougeL: 0.5,
      process_rate: 3,
    });
    const parsed = parse(written) as { gates: { thresholds: Record<string, unknown> } };
    expect(parsed.gates.thresholds).toEqual({
      anomaly_f1: { min: 0.72 },
      val_mae: { max: 0.22 },
      roc_auc: { min: 0.81 },
      rougeL: { min: 0.45 },
    });
    // How long training took is no gate: a faster run would fail a min, a slower one a max.
    expect(written).toContain('#     train_seconds: { max: 0.132 }   # or { min: 0.108 }');
    expect(written).toContain('#     process_rate: { max: 3.3 }   # or { min: 2.7 }');
  });

  it('gates a primary metric whatever its name, and says when the name does not give its direction', () => {
    const written = text({ quality: 0.7, train_seconds: 4 }, 'quality');
    expect((parse(written) as { gates: { thresholds: Record<string, unknown> } }).gates.thresholds).toEqual({
      quality: { min: 0.63 },
    });
    expect(written).toContain('# Higher quality is better (its name does not say: change direction if lower is).');
    // Only a run metric besides a primary: the primary is still gated.
    expect(
      (parse(text({ loss: 0.3, epoch_time: 4 })) as { gates: { thresholds: Record<string, unknown> } }).gates
        .thresholds,
    ).toEqual({ loss: { max: 0.33 } });
  });
});
