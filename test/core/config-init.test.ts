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
      contract: { inputs: [{ name: 'x\ngitops: { repo: evil }', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['batch'] }], opset: 17 },
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
