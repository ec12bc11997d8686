import { describe, expect, it } from 'vitest';
import { planRelease } from '../../src/core/release-plan.ts';
import type { Baseline, ModelInspection } from '../../src/core/report-schema.ts';
import { renderReport } from '../../src/core/report.ts';
import type { ProfileResult } from '../../src/core/profiling.ts';
import { profileResult, testConfig } from '../helpers/fixtures.ts';

const inspection: ModelInspection = {
  sha256: 'c'.repeat(64),
  sizeBytes: 4096,
  irVersion: 8,
  producer: 'pytorch 2.4',
  metadata: {},
  contract: {
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch'] }],
    opset: 17,
  },
};
const baseline: Baseline = {
  version: '1.0.0',
  reference: `ghcr.io/org/demo@sha256:${'a'.repeat(64)}`,
  digest: `sha256:${'a'.repeat(64)}`,
  metrics: { f1: 0.6 },
  contract: inspection.contract,
  history: [
    { version: '0.9.0', value: 0.5 },
    { version: '1.0.0', value: 0.6 },
  ],
};
const golden = { passed: true, samples: 1, compared: 1, mismatches: 0, maxAbsError: 0, problems: [] };
const withInterval = (result: ProfileResult, low: number, high: number): ProfileResult => ({
  ...result,
  p95: {
    p95Ms: result.estimated.p95Ms,
    lowMs: low,
    highMs: high,
    rounds: 5,
    spread: (high - low) / result.estimated.p95Ms,
    stable: true,
  },
});

/** Relative luminance and contrast ratio as WCAG 2 defines them. */
function contrastWithWhite(hex: string): number {
  const channel = (index: number) => {
    const value = parseInt(hex.slice(1 + 2 * index, 3 + 2 * index), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  return 1.05 / (luminance + 0.05);
}

/** The mermaid blocks of a report: the init directive's palette and the series in drawing order. */
function charts(markdown: string) {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(([, body = '']) => {
    const init = /^%%\{init: (.*)\}%%$/m.exec(body);
    const config = JSON.parse(init?.[1] ?? '{}') as { themeVariables?: { xyChart?: { plotColorPalette?: string } } };
    const series = [...body.matchAll(/^ {2}(bar|line) \[(.*)\]$/gm)].map(([, kind, values = '']) => ({
      kind,
      values: values.split(', ').map(Number),
    }));
    return { body, palette: config.themeVariables?.xyChart?.plotColorPalette?.split(', ') ?? [], series };
  });
}

describe("the report's charts", () => {
  const report = renderReport(
    planRelease({
      config: testConfig(),
      inspection,
      metrics: { f1: 0.7 },
      golden,
      profiles: [
        withInterval(profileResult('jetson-xavier-nx', 6), 5, 9),
        profileResult('jetson-orin-nano', 14.8),
        withInterval(profileResult('cloud-cpu', 4), 3.5, 5),
      ],
      baseline,
      provenance: { trainedAt: '2026-12-07T07:00:00.000Z' },
    }),
  );
  const [trend, latency] = charts(report);

  it("give every series its own colour, readable on white (3:1, as WCAG asks of graphics), whatever the viewer's theme", () => {
    for (const chart of [trend, latency]) {
      expect(chart?.palette.length).toBeGreaterThanOrEqual(chart?.series.length ?? Infinity);
      expect(new Set(chart?.palette).size).toBe(chart?.palette.length);
      for (const color of chart?.palette ?? []) expect(contrastWithWhite(color), color).toBeGreaterThanOrEqual(3);
    }
    expect(trend?.series.map((series) => series.kind)).toEqual(['line']);
  });

  it('draw the top of each interval behind the p95, so both bars show, and say which is which', () => {
    const [back, front, budget] = latency?.series ?? [];
    expect([back?.kind, front?.kind, budget?.kind]).toEqual(['bar', 'bar', 'line']);
    // Bars of one x overlap in the order declared: the one in front must never be the taller.
    front?.values.forEach((value, index) => expect(value).toBeLessThanOrEqual(back?.values[index] as number));
    // near: p95 6 ms, top 9 ms of its 10 ms budget; the cloud target: 4 of 20, top 5.
    expect(front?.values[0]).toBe(60);
    expect(back?.values[0]).toBe(90);
    expect(report).toContain(
      'Dark blue: the p95 where the target runs it; grey above it: up to the top of its interval; red line: the budget (100%).',
    );
  });

  it('put each warning in an alert of its own', () => {
    const busy = (result: ProfileResult): ProfileResult => ({
      ...result,
      p95: { p95Ms: 6, lowMs: 3, highMs: 12, rounds: 10, spread: 1.5, stable: false, remeasured: true },
      estimated: { ...result.estimated, p99Ms: 40 },
    });
    const markdown = renderReport(
      planRelease({
        config: testConfig(),
        inspection,
        metrics: { f1: 0.7 },
        golden,
        profiles: [
          busy(profileResult('jetson-xavier-nx', 6)),
          profileResult('jetson-orin-nano', 14.8),
          profileResult('cloud-cpu', 4),
        ],
        provenance: { trainedAt: '2026-12-07T07:00:00.000Z' },
      }),
    );
    const alerts = markdown.split('\n\n').filter((paragraph) => paragraph.startsWith('> [!'));
    expect(alerts.length).toBeGreaterThanOrEqual(2);
    // GitHub reads a marker only on an alert's first line: one per paragraph.
    for (const alert of alerts) expect(alert.match(/\[!(NOTE|WARNING)\]/g)).toHaveLength(1);
  });
});

describe('a blocked target in the report', () => {
  it('shows no p95 as its own: not a share of its budget in the table, no bar in the chart', () => {
    // near: the model needs 150 MiB of its 100 (blocked there), and the cloud target misses its own budget.
    const markdown = renderReport(
      planRelease({
        config: testConfig(),
        inspection,
        metrics: { f1: 0.7 },
        golden,
        profiles: [
          profileResult('jetson-xavier-nx', 0.1, 150),
          profileResult('jetson-orin-nano', 5),
          profileResult('cloud-cpu', 25),
        ],
        provenance: { trainedAt: '2026-12-07T07:00:00.000Z' },
      }),
    );
    expect(markdown).toMatch(
      /\| near \| ⛔ blocked \| – \/ 10\.0 ms \| 150\.0 \/ 100 MiB \| at near, the model needs 150\.0 MiB, over the 100\.0 MiB memory budget, and the cloud target cloud it would offload to is blocked itself \|/,
    );
    expect(markdown).not.toContain('(1%)');
    expect(charts(markdown)[0]?.body).toContain('x-axis ["far"]');
  });
});
