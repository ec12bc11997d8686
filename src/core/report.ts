import { codeSpan, inert } from './markdown.ts';
import { formatShape, type TensorSpec } from './contract.ts';
import { breakingList } from './gates.ts';
import type { MetricDelta } from './metrics.ts';
import type { EvaluationReport } from './report-schema.ts';
import { jsonOrUndefined } from './parse-json.ts';
import { HOST_NOISE_BOUND } from './stats.ts';
import { signerMarkdown } from './release-signature.ts';

const CHOICE_LABEL = {
  edge: '🟢 edge',
  offload: '🔵 offload',
  adaptive: '🟣 adaptive',
  cloud: '☁️ cloud',
  blocked: '⛔ blocked',
} as const;

/** The release PR body: the evaluation report as markdown. */
export function renderReport(report: EvaluationReport): string {
  const failed = report.gates.filter((gate) => !gate.passed).map((gate) => gate.title);
  const verdict = report.passed ? '✅ all gates passed' : `❌ failed: ${failed.join(', ')}`;
  const release =
    report.version.bump === 'none'
      ? `➖ ${report.version.reason}`
      : `${report.version.bump} release: ${report.version.reason}`;
  return [
    `## ${report.model} ${report.version.version}`,
    '',
    `${verdict} · ${release}` + (report.baseline ? ` · deployed: ${report.baseline.version}` : ''),
    ...breakingBanner(report),
    '',
    '### Metrics',
    ...trendChart(report),
    metricsTable(report),
    '',
    '### Gates',
    ...report.gates.map((gate) => `- [${gate.passed ? 'x' : ' '}] **${gate.title}**: ${gate.reason}`),
    '',
    '### Contract',
    contractSection(report),
    '',
    '### Placement',
    ...latencyChart(report),
    placementTable(report),
    ...wavesLine(report),
    '',
    '### Latency by hardware profile',
    profileTable(report),
    '',
    '### Artifact',
    ...artifactLines(report),
    '',
  ].join('\n');
}

/** A breaking change that was let through: clients must change, and the reviewer must see it first. */
function breakingBanner(report: EvaluationReport): string[] {
  const contract = report.gates.find((gate) => gate.id === 'contract');
  if (!report.contractDiff?.breaking || !contract?.passed) return [];
  const approval = report.approvals?.breaking;
  const who = approval
    ? `allowed by @${approval.by} in ${approval.where}`
    : 'allowed by gates.allowBreakingContract in the local loop';
  return [
    '',
    `> [!WARNING]`,
    `> **Breaking change, ${who}.** Clients of ${report.baseline?.version ?? 'the deployed release'} must change before they reach ${report.version.version}: ${breakingList(report.contractDiff)}.`,
  ];
}

function metricsTable(report: EvaluationReport): string {
  const rows = report.metrics.map((metric) => {
    const name =
      metric.name === report.primary.name ? `**${metric.name}** (primary, ${report.primary.direction})` : metric.name;
    return `| ${name} | ${num(metric.value)} | ${metric.baseline === undefined ? '–' : num(metric.baseline)} | ${delta(metric, report)} |`;
  });
  return ['| metric | this release | deployed | Δ |', '|---|---:|---:|---:|', ...rows].join('\n');
}

/**
 * The primary metric over the last releases and this one, as a mermaid line chart: whether a
 * small Δ continues a slide is what a table of two values hides.
 */
function trendChart(report: EvaluationReport): string[] {
  const history = report.baseline?.history ?? [];
  const current = report.metrics.find((metric) => metric.name === report.primary.name);
  if (history.length === 0 || !current) return [];
  const points = [
    ...history.filter((entry) => entry.version !== report.version.version),
    { version: report.version.version, value: current.value },
  ];
  const label = (version: string) => (version === report.version.version ? `${version} (this)` : version);
  return [
    '```mermaid',
    chartTheme([CHART_COLORS.value]),
    'xychart-beta',
    `  title "${chartText(report.primary.name)} over the last ${points.length} releases (${report.primary.direction === 'maximize' ? 'higher' : 'lower'} is better)"`,
    `  x-axis [${points.map((point) => `"${label(point.version)}"`).join(', ')}]`,
    `  y-axis "${chartText(report.primary.name)}"`,
    `  line [${points.map((point) => chartNumber(point.value)).join(', ')}]`,
    '```',
    '',
  ];
}

function delta(metric: MetricDelta, report: EvaluationReport): string {
  if (metric.delta === undefined) return '–';
  const share = metric.baseline
    ? ` (${metric.delta > 0 ? '+' : ''}${((100 * metric.delta) / Math.abs(metric.baseline)).toFixed(1)}%)`
    : '';
  // Better or worse only where the direction is known: the primary metric's.
  const primary = metric.name === report.primary.name && metric.delta !== 0;
  const better = report.primary.direction === 'maximize' ? metric.delta > 0 : metric.delta < 0;
  return `${metric.delta > 0 ? '+' : ''}${num(metric.delta)}${share}${primary ? (better ? ' ▲ better' : ' ▼ worse') : ''}`;
}

/**
 * p95 against the budget, per target, as a chart GitHub draws in the PR (mermaid): bars for the
 * p95 and the top of its interval as a share of the target's budget, a line at the budget.
 */
function latencyChart(report: EvaluationReport): string[] {
  // A blocked target runs nowhere: no path's share of its budget would be what its clients see.
  const placed = report.placement.filter(
    (decision) => decision.choice !== 'blocked' && decision.p95Ms !== undefined && decision.latencyBudgetMs > 0,
  );
  if (placed.length === 0) return [];
  const share = (value: number, budget: number) => Math.round((100 * value) / budget);
  const high = (decision: (typeof placed)[number]) => {
    const p95 = decision.p95Ms as number;
    // An offloaded target sees the cloud's p95 plus its RTT: the cloud target's interval, shifted.
    const source =
      decision.choice === 'offload'
        ? report.placement.find((candidate) => candidate.target === decision.offloadTo)
        : decision;
    const estimate = (source && resultOf(report, source.profile, decision.batch))?.p95;
    if (!estimate) return p95;
    return decision.choice === 'offload' ? p95 - estimate.p95Ms + estimate.highMs : estimate.highMs;
  };
  const points = grouped(
    placed,
    (decision) =>
      `${share(decision.p95Ms as number, decision.latencyBudgetMs)} ${share(high(decision), decision.latencyBudgetMs)}`,
    (decision) => decision.target,
  ).slice(0, MAX_ROWS);
  const bars = points.map(({ first }) => share(first.p95Ms as number, first.latencyBudgetMs));
  const tops = points.map(({ first }) => share(high(first), first.latencyBudgetMs));
  const top = Math.max(120, ...bars, ...tops);
  return [
    '```mermaid',
    chartTheme([CHART_COLORS.range, CHART_COLORS.value, CHART_COLORS.limit]),
    'xychart-beta',
    '  title "p95 as a share of each target\'s latency budget"',
    `  x-axis [${points.map(({ names }) => `"${names.replace(/"/g, "'")}"`).join(', ')}]`,
    `  y-axis "% of budget" 0 --> ${Math.ceil(top / 10) * 10}`,
    // Bars of one x overlap, drawn in order: the top of the interval (never lower) first, so the p95 in front of it shows.
    `  bar [${tops.map((value, index) => Math.max(value, bars[index] as number)).join(', ')}]`,
    `  bar [${bars.join(', ')}]`,
    `  line [${points.map(() => 100).join(', ')}]`,
    '```',
    'Dark blue: the p95 where the target runs it; grey above it: up to the top of its interval; red line: the budget (100%).',
    '',
  ];
}

/** The rollout's waves, in order, with who is in each: names for a few, a count and the selector that chose them for more. */
function wavesLine(report: EvaluationReport): string[] {
  if (!report.waves?.length) return [];
  const waves = report.waves.map((wave) => {
    const chosen = wave.selector
      ? ` (${Object.entries(wave.selector)
          .map(([key, value]) => `${inert(key)}=${inert(value)}`)
          .join(', ')}${wave.percent !== undefined ? `, ${wave.percent}%` : ''})`
      : '';
    const who = wave.targets.length <= 3 ? wave.targets.join(', ') || 'no targets' : `${wave.targets.length} targets`;
    return `**${inert(wave.name)}**${chosen}: ${who}`;
  });
  return ['', `Rollout: ${waves.join(' → ')}.`];
}

function contractSection(report: EvaluationReport): string {
  const { contract } = report.candidate;
  const tensor = (kind: string) => (spec: TensorSpec) =>
    `| ${kind} | \`${spec.name}\` | ${spec.dtype} | \`${formatShape(spec.shape)}\` |`;
  const table = [
    `opset ${contract.opset}`,
    '',
    '| | name | dtype | shape |',
    '|---|---|---|---|',
    ...contract.inputs.map(tensor('input')),
    ...contract.outputs.map(tensor('output')),
  ];
  const diff = report.contractDiff;
  if (!diff) return [...table, '', 'First release: no deployed contract to compare with.'].join('\n');
  if (diff.changes.length === 0) return [...table, '', `Unchanged since ${report.baseline?.version}.`].join('\n');
  return [
    ...table,
    '',
    `Changes since ${report.baseline?.version}:`,
    ...diff.changes.map(
      (change) => `- ${change.severity === 'breaking' ? '**breaking**' : 'compatible'}: ${change.detail}`,
    ),
  ].join('\n');
}

/** Rows the placement table and the chart show at most; a fleet's targets group into far fewer. */
const MAX_ROWS = 40;

/**
 * Items whose key is the same, in order of first appearance, each group named by its targets:
 * a fleet of 10,000 sites on a few profiles is a few rows, not 10,000.
 */
function grouped<T>(
  items: readonly T[],
  key: (item: T) => string,
  target: (item: T) => string,
): { first: T; names: string }[] {
  const groups = new Map<string, { first: T; targets: string[] }>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.targets.push(target(item));
    else groups.set(key(item), { first: item, targets: [target(item)] });
  }
  return [...groups.values()].map(({ first, targets }) => ({
    first,
    names:
      targets.length <= 3
        ? targets.join(', ')
        : `${targets.length.toLocaleString('en-US')} targets (${targets.slice(0, 3).join(', ')}, …)`,
  }));
}

/** Rows past MAX_ROWS are counted, not shown: the release proposal holds every target's decision. */
const capped = (rows: string[]) =>
  rows.length <= MAX_ROWS
    ? rows
    : [
        ...rows.slice(0, MAX_ROWS),
        `| … and ${rows.length - MAX_ROWS} more rows: every target's decision is in \`.edgeship/release.json\` on the release branch | | | | |`,
      ];

function placementTable(report: EvaluationReport): string {
  const deployed = report.baseline?.placements;
  const cells = (decision: EvaluationReport['placement'][number]) => {
    // A blocked target serves from nowhere, so no p95 is its own (the reason gives each path's).
    const latency =
      decision.choice === 'blocked'
        ? `– / ${ms(decision.latencyBudgetMs)}`
        : decision.p95Ms === undefined
          ? '–'
          : `${ms(decision.p95Ms)} / ${ms(decision.latencyBudgetMs)} (${Math.round((100 * decision.p95Ms) / decision.latencyBudgetMs)}%)`;
    const memory =
      decision.memoryMb === undefined
        ? '–'
        : `${decision.memoryMb.toFixed(1)} / ${decision.memoryBudgetMb === undefined ? '–' : decision.memoryBudgetMb} MiB`;
    const where = decision.offloadTo
      ? `${CHOICE_LABEL[decision.choice]} → ${decision.offloadTo}`
      : CHOICE_LABEL[decision.choice];
    // Deployed → new, so a change of placement is the first thing a reviewer reads.
    const before = deployed?.[decision.target];
    const placement = deployed
      ? `${before ?? 'new target'} → ${where}${before !== undefined && before !== decision.choice ? ' (changes)' : ''}`
      : where;
    return `${placement} | ${latency} | ${memory} | ${decision.reason}${decision.capacity ? ` (capacity from ${decision.capacity})` : ''} |`;
  };
  const rows = grouped(report.placement, cells, (decision) => decision.target).map(
    ({ first, names }) => `| ${names} | ${cells(first)}`,
  );
  return [
    `| target | ${deployed ? 'deployed → new placement' : 'placement'} | p95 / budget | memory / budget | reason |`,
    '|---|---|---:|---:|---|',
    ...capped(rows),
  ].join('\n');
}

function profileTable(report: EvaluationReport): string {
  const batches = new Set(report.profiles.map((result) => result.batch));
  const rows = report.profiles.map((result) => {
    const p95 = result.p95
      ? `${ms(result.p95.p95Ms)} (${ms(result.p95.lowMs)}–${ms(result.p95.highMs)})`
      : ms(result.estimated.p95Ms);
    return `| ${result.profile}${batches.size > 1 ? ` @ batch ${result.batch}` : ''} | ${result.threads} | ${result.source === 'device' ? 'on device' : `×${result.speedFactor}`} | ${ms(result.estimated.p50Ms)} | ${p95} | ${ms(result.estimated.p99Ms)} | ${result.peakMemoryMb.toFixed(1)} MiB | ${ms(result.sessionCreateMs)} |`;
  });
  const rounds = report.profiles.find((result) => result.p95)?.p95?.rounds;
  const calibrated = report.profiles.flatMap((result) => (result.calibration ? [result.calibration] : []));
  const hostSpeed =
    calibrated.length > 0
      ? `; this host ran it at ${Math.round((100 * calibrated.reduce((sum, calibration) => sum + calibration.nominalRunMs / calibration.hostRunMs, 0)) / calibrated.length)}% of the nominal host's speed`
      : '';
  const emulation =
    calibrated.length > 0
      ? `device latency = host latency × (nominal ÷ host time of a reference workload measured beside each round) × speed factor${hostSpeed}`
      : 'device latency = host latency × speed factor';
  return [
    `${batches.size > 1 ? 'Batch per row' : `Batch ${report.profiles[0]?.batch ?? 1}`} (rows per request, as the targets serve it), ${report.profiles[0]?.measured.runs ?? 0} runs per profile${rounds ? ` in ${rounds} rounds: p95 is the median of the rounds' p95s, with their range; on emulated profiles a run over ${HOST_NOISE_BOUND}× the fastest twentieth of the runs is the host stalling it and counts at that bound` : ''}; emulated profiles: ${emulation}.`,
    '',
    '| profile | threads | speed factor | p50 | p95 | p99 | peak memory | session create |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...latencyWarnings(report),
  ].join('\n');
}

/** The profile result a decision's numbers came from (reports from before per-target batches have one per profile). */
const resultOf = (report: EvaluationReport, profile: string | undefined, batch: number | undefined) =>
  report.profiles.find((result) => result.profile === profile && (batch === undefined || result.batch === batch));

/** The share of stalled runs from which the report says the host was busy. */
const STALLS_SHOWN = 0.2;

/** What a reviewer should not miss: rounds that disagree, and a p99 over a target's budget. */
function latencyWarnings(report: EvaluationReport): string[] {
  const warnings = report.profiles.flatMap((result) => [
    ...(result.p95 && !result.p95.stable
      ? [
          `> [!WARNING]\n> The rounds on ${result.profile} disagree${result.p95.remeasured ? ' after measuring again' : ''}: p95 from ${ms(result.p95.lowMs)} to ${ms(result.p95.highMs)}; the machine was busy, and placements near a budget kept what is deployed.`,
        ]
      : []),
    ...(result.p95?.stalledShare !== undefined && result.p95.stalledShare > STALLS_SHOWN
      ? [
          `> [!NOTE]\n> The host stalled ${Math.round(result.p95.stalledShare * 100)}% of the runs on ${result.profile} (another process had the cores): they count at ${HOST_NOISE_BOUND}× the fastest twentieth of the runs, so the p95 is the model's, not the host's.`,
        ]
      : []),
    ...(result.calibration && !result.calibration.stable
      ? [
          `> [!WARNING]\n> The reference workload on ${result.profile} varied by ${Math.round(result.calibration.spread * 100)}% between rounds: the host's load changed within a round, so the calibration itself is uncertain.`,
        ]
      : []),
  ]);
  const overP99 = report.placement.filter((decision) => {
    const target = resultOf(report, decision.profile, decision.batch);
    return decision.choice === 'edge' && target !== undefined && target.estimated.p99Ms > decision.latencyBudgetMs;
  });
  for (const { first, names } of grouped(
    overP99,
    (decision) => `${decision.profile} ${decision.batch} ${decision.latencyBudgetMs}`,
    (decision) => decision.target,
  ).slice(0, MAX_ROWS)) {
    const target = resultOf(report, first.profile, first.batch);
    if (target)
      warnings.push(
        `> [!NOTE]\n> p99 on ${target.profile} is ${ms(target.estimated.p99Ms)}, over the ${ms(first.latencyBudgetMs)} budget of ${names}: about 1 request in 100 there takes longer.`,
      );
  }
  // A blank line between alerts: GitHub merges adjacent quoted lines into one alert, and shows the second `[!NOTE]` as text.
  return warnings.flatMap((warning) => ['', warning]);
}

function artifactLines(report: EvaluationReport): string[] {
  const lines = [
    `- model: \`model.onnx\`, ${(report.candidate.sizeBytes / 1024).toFixed(1)} KiB, sha256 \`${report.candidate.sha256}\``,
    report.artifact ? `- artifact: \`${report.artifact.reference}\`` : '- artifact: not published yet',
  ];
  // References and platforms passed the report schema's grammar: pinned references, os/arch names.
  const packages = report.artifact?.packages;
  if (packages?.modelcar)
    lines.push(`- KServe modelcar: \`${packages.modelcar.reference}\` (${packages.modelcar.platforms.join(', ')})`);
  if (packages?.image)
    lines.push(
      `- serving image with the model: \`${packages.image.reference}\` (${packages.image.platforms.join(', ')})`,
    );
  const { provenance } = report;
  // Every provenance value came from outside (a run, a branch, drift evidence from a site): shown as inert text.
  if (provenance.commit)
    lines.push(
      `- trained from ${provenance.branch ? `${inert(provenance.branch)} @ ` : ''}${inert(provenance.commit)}`,
    );
  if (provenance.runUrl) lines.push(`- run: ${inert(provenance.runUrl)}`);
  if (provenance.trigger) lines.push(`- trigger: ${inert(describeTrigger(provenance.trigger))}`);
  if (provenance.command) lines.push(`- command: ${codeSpan(provenance.command)}`);
  lines.push(`- trained at ${inert(provenance.trainedAt)}`);
  const { signature } = report;
  if (signature)
    lines.push(
      `- signed by ${signerMarkdown(signature, false)} (trusted by the operator policy); its build provenance names ${signature.commit ? inert(signature.commit) : 'no commit'}${signature.runUrl ? ` and run ${inert(signature.runUrl)}` : ''}`,
    );
  return lines;
}

/** Drift evidence arrives as JSON with a summary; anything else is shown as it is. */
function describeTrigger(trigger: string): string {
  const parsed = jsonOrUndefined(trigger) as { summary?: unknown } | null | undefined;
  return typeof parsed?.summary === 'string' ? parsed.summary : trigger;
}

/**
 * Colours of the charts, set in each chart rather than left to the viewer's mermaid theme (whose
 * default draws a line in #ECECFF on white): each at least 3:1 against white, as WCAG asks of
 * graphics, and told apart by hue as well as lightness.
 */
export const CHART_COLORS = { value: '#1d4ed8', range: '#64748b', limit: '#dc2626' } as const;

/** A mermaid init directive giving the chart's series these colours, in the order they are declared. */
const chartTheme = (palette: readonly string[]) =>
  `%%{init: ${JSON.stringify({ theme: 'base', themeVariables: { xyChart: { backgroundColor: '#ffffff', plotColorPalette: palette.join(', ') } } })}}%%`;

/** Text inside a mermaid string: the metric name comes from the repo's config, so nothing that ends the string or the fence. */
const chartText = (text: string) => text.replace(/[^\w .:/()%-]/g, '').slice(0, 60);

/** A number as mermaid reads it: no exponent. */
function chartNumber(value: number): string {
  const text = num(value);
  return /e/i.test(text) ? value.toFixed(12).replace(/\.?0+$/, '') : text;
}

function num(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(0) : Number(value.toPrecision(4)).toString();
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}
