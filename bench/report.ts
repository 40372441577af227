// The figures of the benchmark (bench/run.ts): metrics with their samples, the ratios to
// the floor (or another baseline), the targets of issues 4 and 14, and the table, JSON and SVG made of them.
import type { ContenderName } from './contenders/contender';
import { summarize, type Summary } from './measure';

export type Unit = 'ms' | 'calls/s' | 'items/s' | 'bytes';

/** One measured figure: a sample per round (or per start) for each contender. */
export interface Metric {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly unit: Unit;
  readonly better: 'lower' | 'higher';
  /**
   * What the ratio divides by: the floor's sample of the same round (paired), or, with
   * `metric`, the median of another metric (the restart divides by the floor's cold start).
   */
  readonly baseline: { readonly contender: ContenderName; readonly label: string; readonly metric?: string };
  readonly samples: Partial<Record<ContenderName, number[]>>;
}

export function metric(id: string, group: string, label: string, unit: Unit, better: 'lower' | 'higher', baseline: Metric['baseline'] = { contender: 'floor', label: 'floor' }): Metric {
  return { id, group, label, unit, better, baseline, samples: {} };
}

/** Records sample `index` of a contender (rounds may come in any contender order). */
export function record(m: Metric, contender: ContenderName, index: number, value: number): void {
  const list = (m.samples[contender] ??= []);
  while (list.length < index) list.push(NaN);
  list[index] = value;
}

export interface ContenderResult {
  readonly samples: readonly number[];
  readonly summary: Summary;
  /** Ratio to the baseline: of each round to the baseline's same round, summarised. */
  readonly ratio: Summary | undefined;
}

export interface MetricResult {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly unit: Unit;
  readonly better: 'lower' | 'higher';
  /** What the ratios divide by, for the reader. */
  readonly baseline: string;
  readonly baselineContender: ContenderName;
  /** Whether each sample is divided by the baseline's sample of the same round. */
  readonly paired: boolean;
  readonly contenders: Partial<Record<ContenderName, ContenderResult>>;
}

/** Per-index ratios a[i] / b[i] of two sample lists, summarised. */
export function pairedRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): Summary | undefined {
  if (!a || !b) return undefined;
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = b[i] ?? NaN;
    // Every figure is positive by nature; a baseline at or below 0 (a memory delta lost in noise) divides nothing.
    ratios.push(d > 0 ? (a[i] ?? NaN) / d : NaN);
  }
  const s = summarize(ratios);
  return s.n === 0 ? undefined : s;
}

export function resultsOf(metrics: readonly Metric[]): MetricResult[] {
  const byId = new Map(metrics.map((m) => [m.id, m]));
  return metrics
    .filter((m) => Object.keys(m.samples).length > 0)
    .map((m) => {
      const contenders: Partial<Record<ContenderName, ContenderResult>> = {};
      const other = m.baseline.metric === undefined ? undefined : byId.get(m.baseline.metric);
      const base = (other ?? m).samples[m.baseline.contender];
      const baseMedian = base ? summarize(base).median : NaN;
      for (const [name, samples] of Object.entries(m.samples) as Array<[ContenderName, number[]]>) {
        const summary = summarize(samples);
        let ratio: Summary | undefined;
        if (other) {
          // Not paired: each sample over the other metric's median.
          const s = summarize(samples.map((v) => v / baseMedian));
          ratio = s.n === 0 ? undefined : s;
        } else {
          ratio = pairedRatio(samples, base);
        }
        contenders[name] = { samples, summary, ratio };
      }
      return {
        id: m.id,
        group: m.group,
        label: m.label,
        unit: m.unit,
        better: m.better,
        baseline: m.baseline.label,
        baselineContender: m.baseline.contender,
        paired: other === undefined,
        contenders,
      };
    });
}

// ---------------------------------------------------------------------------------
// Targets of issue 4 (calls), issue 14 (streams) and issue 16 (DTO, cold start on Node 24, pools)

export interface TargetResult {
  /** A stable name of the target, the same in every run (labels may say more, e.g. which Node's limit applies). */
  readonly id: string;
  readonly label: string;
  /** The metric the target is drawn on in the chart, and the contender. */
  readonly metric: string;
  readonly contender: ContenderName;
  readonly op: '≤' | '≥';
  readonly limit: number;
  readonly limitText: string;
  readonly measured: number;
  readonly measuredText: string;
  readonly spreadText: string;
  /** Undefined when the figures needed were not measured. */
  readonly pass: boolean | undefined;
  /** The limit as a ratio to the metric's baseline, where the chart can mark it. */
  readonly chartLimit: number | undefined;
}

function x(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a';
}

/** What the targets need beside the metrics. */
export interface TargetInputs {
  /** The major version of the Node.js that ran the bench (the cold start's limit depends on it); default: this process's. */
  readonly nodeMajor?: number;
  /** The pools scenario's ratios, round by round: 2 instances over 1, 4 over 2. */
  readonly pools?: { readonly twoOverOne: Summary; readonly fourOverTwo: Summary };
}

/** A target on a ratio measured outside the metrics (no bar of the chart carries it). */
function summaryTarget(id: string, label: string, metricId: string, op: '≤' | '≥', limit: number, ratio: Summary | undefined): TargetResult {
  const measured = ratio && ratio.n > 0 ? ratio.median : NaN;
  return {
    id,
    label,
    metric: metricId,
    contender: 'plugwire',
    op,
    limit,
    limitText: `${op} ${limit.toFixed(2)}×`,
    measured,
    measuredText: x(measured),
    spreadText: ratio && ratio.n > 0 ? `${x(ratio.min)}–${x(ratio.max)}` : '',
    pass: Number.isFinite(measured) ? (op === '≤' ? measured <= limit : measured >= limit) : undefined,
    chartLimit: undefined,
  };
}

export function evaluateTargets(results: readonly MetricResult[], inputs: TargetInputs = {}): TargetResult[] {
  const find = (id: string): MetricResult | undefined => results.find((r) => r.id === id);
  const ratioTarget = (label: string, id: string, contender: ContenderName, op: '≤' | '≥', limit: number, limitText = `${op} ${limit.toFixed(2)}×`, targetId = id): TargetResult => {
    const ratio = find(id)?.contenders[contender]?.ratio;
    const measured = ratio?.median ?? NaN;
    return {
      id: targetId,
      label,
      metric: id,
      contender,
      op,
      limit,
      limitText,
      measured,
      measuredText: x(measured),
      spreadText: ratio ? `${x(ratio.min)}–${x(ratio.max)}` : '',
      pass: Number.isFinite(measured) ? (op === '≤' ? measured <= limit : measured >= limit) : undefined,
      chartLimit: limit,
    };
  };
  const out = [
    ratioTarget('sequential latency (p50, 100 B) vs floor', 'sequential.p50', 'plugwire', '≤', 1.1),
    ratioTarget('throughput at 16 callers vs floor', 'throughput.16', 'plugwire', '≥', 0.9),
    ratioTarget('DTO (validated both sides) p50 vs floor, same body', 'dto.p50', 'plugwire-dto', '≤', 1.3),
    ratioTarget('DTO throughput at 16 callers vs floor, same body', 'dto.throughput.16', 'plugwire-dto', '≥', 0.7),
  ];
  // plugwire over grpc-js, round by round.
  const t16 = find('throughput.16');
  const overGrpc = pairedRatio(t16?.contenders.plugwire?.samples, t16?.contenders.grpc?.samples);
  const g = overGrpc?.median ?? NaN;
  out.push({
    id: 'throughput.16.grpc',
    label: 'throughput at 16 callers vs grpc-js',
    metric: 'throughput.16',
    contender: 'plugwire',
    op: '≥',
    limit: 3,
    limitText: '≥ 3.00×',
    measured: g,
    measuredText: x(g),
    spreadText: overGrpc ? `${x(overGrpc.min)}–${x(overGrpc.max)}` : '',
    pass: Number.isFinite(g) ? g >= 3 : undefined,
    chartLimit: undefined,
  });
  // Issue 16's cold start target is for Node 24 (its module compile cache); Node 20 keeps issue 4's.
  const nodeMajor = inputs.nodeMajor ?? Number(process.versions.node.split('.')[0]);
  const node24 = nodeMajor >= 24;
  out.push(ratioTarget(`cold start (start() to first answer) vs floor, ${node24 ? 'Node ≥ 24 limit' : 'Node 20 limit (≤ 1.10× on Node ≥ 24)'}`, 'cold-start', 'plugwire', '≤', node24 ? 1.1 : 1.15));
  // Restart, in ms, against plugwire's own cold start.
  const restart = find('restart')?.contenders.plugwire?.summary;
  const cold = find('cold-start')?.contenders.plugwire?.summary.median ?? NaN;
  const r = restart?.median ?? NaN;
  const limit = cold + 50;
  const floorCold = find('cold-start')?.contenders.floor?.summary.median ?? NaN;
  out.push({
    id: 'restart',
    label: 'restart (kill -9 to next answer) vs cold start + 50 ms',
    metric: 'restart',
    contender: 'plugwire',
    op: '≤',
    limit,
    limitText: Number.isFinite(limit) ? `≤ ${limit.toFixed(0)} ms` : '≤ cold start + 50 ms',
    measured: r,
    measuredText: Number.isFinite(r) ? `${r.toFixed(0)} ms` : 'n/a',
    spreadText: restart && restart.n > 0 ? `${restart.min.toFixed(0)}–${restart.max.toFixed(0)} ms` : '',
    pass: Number.isFinite(r) && Number.isFinite(limit) ? r <= limit : undefined,
    // The restart's bar is a ratio to the floor's cold start.
    chartLimit: Number.isFinite(limit / floorCold) ? limit / floorCold : undefined,
  });
  // Issue 14: streamed items against the NDJSON floor, and against one call per item, round by round.
  out.push(ratioTarget('stream, items/s vs floor (NDJSON over node:http)', 'stream', 'plugwire-stream', '≥', 0.9));
  const stream = find('stream');
  const overCalls = pairedRatio(stream?.contenders['plugwire-stream']?.samples, stream?.contenders['plugwire-calls']?.samples);
  const sc = overCalls?.median ?? NaN;
  out.push({
    id: 'stream.calls',
    label: 'stream, items/s vs one call per item (16 callers)',
    metric: 'stream',
    contender: 'plugwire-stream',
    op: '≥',
    limit: 5,
    limitText: '≥ 5.00×',
    measured: sc,
    measuredText: x(sc),
    spreadText: overCalls ? `${x(overCalls.min)}–${x(overCalls.max)}` : '',
    pass: Number.isFinite(sc) ? sc >= 5 : undefined,
    chartLimit: undefined,
  });
  // Issue 14: a host-service call from inside a plugin method against the host's call of the plugin, same body, round by round.
  for (const [body, id] of SERVICE_TARGET_BODIES) {
    out.push(ratioTarget(`host-service call from a plugin method, p50, ${body} vs host-to-plugin`, id, 'plugwire-host', '≤', 1.1));
  }
  // Issue 16: plugin pools of a CPU-bound method (about 2 ms of CPU a call), 16 callers, round by round.
  out.push(summaryTarget('pools.2', 'pool of 2 instances, calls/s vs 1 instance (2 ms of CPU a call)', 'pools', '≥', 1.7, inputs.pools?.twoOverOne));
  out.push(summaryTarget('pools.4', 'pool of 4 instances, calls/s vs 2 instances', 'pools', '≥', 0.9, inputs.pools?.fourOverTwo));
  return out;
}

/** The services scenario's p50 metrics that carry a target, with the body each sends. */
const SERVICE_TARGET_BODIES: ReadonlyArray<readonly [string, string]> = [
  ['short string', 'services.string.p50'],
  ['1 KB object', 'services.1KB.p50'],
];

// ---------------------------------------------------------------------------------
// Text

function sig(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A value in its unit, e.g. `85.2 µs`, `12.3 ms`, `14,210/s`, `48.1 MiB`. */
export function formatValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return 'n/a';
  switch (unit) {
    case 'ms':
      return Math.abs(v) < 1 ? `${sig(v * 1000)} µs` : Math.abs(v) < 10_000 ? `${sig(v)} ms` : `${sig(v / 1000)} s`;
    case 'calls/s':
    case 'items/s':
      return `${Math.round(v).toLocaleString('en-US')}/s`;
    case 'bytes':
      return Math.abs(v) < 1024 * 1024 ? `${sig(v / 1024)} KiB` : `${sig(v / 1024 / 1024)} MiB`;
  }
}

function formatRange(s: Summary, unit: Unit): string {
  if (s.n === 0) return '';
  return `${formatValue(s.min, unit)} – ${formatValue(s.max, unit)}`;
}

function table(rows: readonly string[][], header: readonly string[], right: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** The table of medians: one line per metric and contender. */
export function formatResults(results: readonly MetricResult[], order: readonly ContenderName[]): string[] {
  const rows: string[][] = [];
  for (const r of results) {
    let first = true;
    for (const name of order) {
      const c = r.contenders[name];
      if (!c) continue;
      const isBase = r.paired && name === r.baselineContender;
      rows.push([
        first ? `${r.label} ${r.better === 'lower' ? '↓' : '↑'}` : '',
        name,
        formatValue(c.summary.median, r.unit),
        formatRange(c.summary, r.unit),
        c.ratio ? (isBase ? '1.00' : c.ratio.median.toFixed(2)) : '',
        c.ratio && !isBase ? `${c.ratio.min.toFixed(2)} – ${c.ratio.max.toFixed(2)}` : '',
        `${c.summary.n}`,
      ]);
      first = false;
    }
  }
  return table(rows, ['metric (↓ lower is better, ↑ higher)', 'contender', 'median', 'spread (min – max)', '× floor', '× floor (min – max)', 'n'], new Set([2, 3, 4, 5, 6]));
}

export function formatTargets(targets: readonly TargetResult[]): string[] {
  const rows = targets.map((t) => [t.label, t.measuredText, t.spreadText, t.limitText, t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS']);
  return table(rows, ['target (issues 4, 14, 16)', 'measured', 'spread (min – max)', 'target', 'result'], new Set([1, 2]));
}

// ---------------------------------------------------------------------------------
// Chart

const COLORS: Record<ContenderName, string> = {
  floor: '#7f7f7f',
  plugwire: '#1f77b4',
  'plugwire-dto': '#2ca02c',
  grpc: '#d62728',
  'plugwire-stream': '#9467bd',
  'plugwire-calls': '#ff7f0e',
  'plugwire-host': '#17becf',
};

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Grouped horizontal bars, one group per metric, one bar per contender: the median ratio
 * to the group's baseline (the floor), on a log scale around 1, with the min–max of the
 * rounds as a whisker and the issue's targets as red marks.
 */
export function drawSvg(results: readonly MetricResult[], targets: readonly TargetResult[], order: readonly ContenderName[], subtitle: string): string {
  const bars = results.map((r) => ({
    r,
    bars: order.filter((n) => r.contenders[n]?.ratio && !(r.paired && n === r.baselineContender)),
  }));
  const groups = bars.filter((g) => g.bars.length > 0);
  const labelW = 360;
  const plotW = 560;
  const valueW = 90;
  const width = labelW + plotW + valueW + 20;
  const barH = 15;
  const barGap = 4;
  const groupGap = 16;
  const top = 86;
  let height = top + 40;
  for (const g of groups) height += g.bars.length * (barH + barGap) - barGap + groupGap;

  const finite = groups.flatMap((g) => g.bars.flatMap((n) => {
    const ratio = g.r.contenders[n]?.ratio;
    return ratio ? [ratio.min, ratio.max, ratio.median] : [];
  })).concat(targets.flatMap((t) => (t.chartLimit === undefined ? [] : [t.chartLimit]))).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.max(1 / 64, 2 ** Math.floor(Math.log2(Math.min(0.5, ...finite))));
  const hi = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(2, ...finite))));
  const sx = (v: number): number => {
    const c = Math.min(hi, Math.max(lo, v));
    return labelW + ((Math.log2(c) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * plotW;
  };

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="16" font-weight="bold">plugwire benchmark: ratio to the floor (median of the rounds, log scale)</text>`);
  out.push(`<text x="16" y="42" fill="#555">${esc(subtitle)}</text>`);
  // Legend.
  let lx = 16;
  for (const name of order.filter((n) => n !== 'floor' && groups.some((g) => g.bars.includes(n)))) {
    out.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${COLORS[name]}"/><text x="${lx + 16}" y="62">${esc(name)}</text>`);
    lx += 30 + name.length * 7;
  }
  out.push(`<line x1="${lx}" y1="58" x2="${lx + 14}" y2="58" stroke="#c00" stroke-width="2"/><text x="${lx + 18}" y="62">target</text>`);
  lx += 70;
  out.push(`<rect x="${lx}" y="52" width="12" height="12" fill="#fbeaea" stroke="#e8c8c8"/><text x="${lx + 16}" y="62" fill="#555">worse than the floor (↓ lower is better, ↑ higher is better); whiskers: min–max of the rounds</text>`);

  // Grid (the tints of the groups go beneath it).
  const tintAt = out.length;
  const tints: string[] = [];
  const plotTop = top - 6;
  const plotBottom = height - 34;
  for (let t = lo; t <= hi * 1.0001; t *= 2) {
    const px = sx(t);
    const one = Math.abs(t - 1) < 1e-9;
    out.push(`<line x1="${px.toFixed(1)}" y1="${plotTop}" x2="${px.toFixed(1)}" y2="${plotBottom}" stroke="${one ? '#333' : '#ddd'}" stroke-width="${one ? 1.5 : 1}"${one ? ' stroke-dasharray="4 3"' : ''}/>`);
    const text = t >= 1 ? `${t}×` : `1/${Math.round(1 / t)}×`;
    out.push(`<text x="${px.toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" fill="#333">${text}</text>`);
  }
  out.push(`<text x="${sx(1).toFixed(1)}" y="${plotBottom + 30}" text-anchor="middle" fill="#333">floor = 1×</text>`);

  let y = top;
  for (const g of groups) {
    const groupH = g.bars.length * (barH + barGap) - barGap;
    // The side of the floor line where a contender is worse than the floor, tinted.
    const worseLeft = g.r.better === 'higher';
    const tintX = worseLeft ? labelW : sx(1);
    const tintW = worseLeft ? sx(1) - labelW : labelW + plotW - sx(1);
    tints.push(`<rect x="${tintX.toFixed(1)}" y="${y - 4}" width="${tintW.toFixed(1)}" height="${groupH + 8}" fill="#fbeaea"/>`);
    out.push(`<text x="${labelW - 10}" y="${(y + groupH / 2 + 4).toFixed(1)}" text-anchor="end">${esc(`${g.r.label} ${g.r.better === 'lower' ? '↓' : '↑'}`)}</text>`);
    if (g.r.baseline !== 'floor') {
      out.push(`<text x="${labelW - 10}" y="${(y + groupH / 2 + 17).toFixed(1)}" text-anchor="end" fill="#777" font-size="10">${esc(`vs ${g.r.baseline}`)}</text>`);
    }
    for (const name of g.bars) {
      const ratio = g.r.contenders[name]?.ratio;
      if (!ratio) continue;
      const x0 = sx(1);
      const x1 = sx(ratio.median);
      const left = Math.min(x0, x1);
      const w = Math.max(1, Math.abs(x1 - x0));
      out.push(`<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[name]}" opacity="0.85"><title>${esc(`${name}: ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`)}</title></rect>`);
      const cy = y + barH / 2;
      out.push(`<line x1="${sx(ratio.min).toFixed(1)}" y1="${cy}" x2="${sx(ratio.max).toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1"/>`);
      for (const v of [ratio.min, ratio.max]) out.push(`<line x1="${sx(v).toFixed(1)}" y1="${cy - 4}" x2="${sx(v).toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1"/>`);
      const clipped = ratio.median > hi || ratio.median < lo ? ' (off scale)' : '';
      out.push(`<text x="${labelW + plotW + 8}" y="${cy + 4}" fill="${COLORS[name]}">${ratio.median.toFixed(2)}×${clipped}</text>`);
      for (const t of targets) {
        if (t.chartLimit === undefined || t.metric !== g.r.id || t.contender !== name) continue;
        const tx = sx(t.chartLimit);
        out.push(`<line x1="${tx.toFixed(1)}" y1="${y - 2}" x2="${tx.toFixed(1)}" y2="${y + barH + 2}" stroke="#c00" stroke-width="2.5"><title>${esc(`target ${t.limitText}: ${t.pass ? 'PASS' : 'MISS'}`)}</title></line>`);
      }
      y += barH + barGap;
    }
    y += groupGap - barGap;
  }
  out.splice(tintAt, 0, ...tints);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
