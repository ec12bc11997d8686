import { describe, expect, it } from 'vitest';
import { ModelValidationError } from '../../src/core/errors.ts';
import { metricDeltas, parseMetrics } from '../../src/core/metrics.ts';

describe('parseMetrics', () => {
  it('keeps finite numbers', () => {
    expect(parseMetrics('{"f1": 0.8, "mae": 1e-2, "note": "x"}', 'f1')).toEqual({ f1: 0.8, mae: 0.01 });
  });

  it.each([
    ['NaN as Python writes it', '{"f1": NaN, "mae": 0.1}', /metrics\.json: expected finite numbers, but "f1" is NaN/],
    ['Infinity', '{"f1": 0.5, "mae": Infinity}', /"mae" is Infinity/],
    ['-Infinity', '{"f1": -Infinity}', /"f1" is -Infinity/],
    ['a missing primary metric', '{"mae": 0.1}', /the primary metric "f1" is missing \(found mae\)/],
    ['a primary metric that is a string', '{"f1": "high"}', /"f1" is "high"/],
    ['text that is not JSON', 'f1=0.8', /metrics\.json: expected JSON/],
    ['a list', '[0.8]', /expected an object of metric names to numbers/],
  ])('rejects %s with the field named', (_case, text, message) => {
    expect(() => parseMetrics(text, 'f1')).toThrow(ModelValidationError);
    expect(() => parseMetrics(text, 'f1')).toThrow(message);
  });

  it('computes deltas against the baseline', () => {
    expect(metricDeltas({ f1: 0.8, new: 1 }, { f1: 0.5 })).toEqual([
      { name: 'f1', value: 0.8, baseline: 0.5, delta: 0.30000000000000004 },
      { name: 'new', value: 1 },
    ]);
  });
});
