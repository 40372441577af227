// The many-plugins scenario of the benchmark (issue 16): one host starts 1, 5 and 20
// plugwire plugins (the plugwire contender's plugin, each its own process and socket) all
// at once, and measures how the start time, the memory, the CPU they cost while idle and
// the calls per second grow with the number of plugins. Each figure is a median over a few rounds; each round starts its
// plugins afresh and closes them all at the end, and checks that no plugin process is left.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { pidAlive } from '../spec/support/host-helpers';
import type { Session, Workload } from './contenders/contender';
import { plugwire } from './contenders/plugwire';
import { cpuOf, gc, rssOf, sequential, summarize, throughput, type Call, type WindowProbe } from './measure';

/** The numbers of plugins started at once. */
export const MANY_COUNTS = [1, 5, 20] as const;
/** Callers of the throughput figure, spread over the plugins. */
export const MANY_CALLERS = 16;

/** How much the scenario measures. */
export interface ManyPlan {
  /** Rounds for each number of plugins (each a fresh start of all of them). */
  readonly rounds: number;
  /** Throughput: uncounted ramp, then the counted window, ms. */
  readonly rampMs: number;
  readonly windowMs: number;
  /**
   * Untimed calls of each plugin before the throughput window, all plugins at once. A
   * plugin answers its first few thousand calls several times slower (its code is not yet
   * optimised by V8): without them, 20 plugins sharing the callers' calls would each stay
   * cold through the window, and the figure would measure the warm-up, not the plugins.
   */
  readonly warmCalls: number;
}

/** The idle window: after the start, ms to let the plugins settle, then ms measured with no call. */
export const MANY_IDLE_SETTLE_MS = 500;
export const MANY_IDLE_MS = 2000;

/** The medians over the rounds for one number of plugins. */
export interface ManyRow {
  readonly plugins: number;
  /** From the first start() to the last plugin ready (all connect()s resolved), ms. */
  readonly startMs: number;
  /** CPU time the plugin processes and the host used during the start, summed, ms. */
  readonly startCpuMs: number;
  /** `startCpuMs` over the machine's CPUs: the shortest the start could take on them, ms. */
  readonly cpuBoundMs: number;
  /** The host's resident set with the plugins started, bytes, and its growth over the same moment before the start. */
  readonly hostRss: number;
  readonly hostRssGrowth: number;
  /** The growth of the host's JS heap and external memory with the plugins started, bytes (RSS keeps what earlier rounds took; the heap does not). */
  readonly hostHeapGrowth: number;
  /** The plugins' resident sets after the start, summed, bytes. */
  readonly pluginsRss: number;
  /** Answers per second, {@link MANY_CALLERS} callers, each call to the next plugin in turn. */
  readonly callsPerSecond: number;
  /** CPU time per answered call during the throughput window, ms: the host's, and the plugins' summed (independent of what else the machine runs, unlike calls/s). */
  readonly hostCpuPerCall: number;
  readonly pluginsCpuPerCall: number;
  /**
   * CPU time per second with the plugins started and no call, ms/s: the host's (what it
   * spends watching them: the liveness probes) and the plugins' summed, over
   * {@link MANY_IDLE_MS} ms after the start.
   */
  readonly idleHostCpuPerSecond: number;
  readonly idlePluginsCpuPerSecond: number;
  /** Ratios to the row of one plugin: start time per plugin, plugin RSS per plugin, calls/s (the host's growth is too small against one plugin to divide by). */
  readonly ratios: { readonly startPerPlugin: number; readonly pluginRssPerPlugin: number; readonly callsPerSecond: number };
  /** Each round's figures, in the order above. */
  readonly rounds: ReadonlyArray<Omit<ManyRow, 'rounds' | 'ratios'>>;
}

/** The host's JS heap in use and its external memory, bytes. */
function heapNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** The CPU time a process has run, ms, from its scheduler statistics (to the ns: the idle figures are too small for clock ticks); NaN when it cannot be read. */
function runMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** The process ids that are children of this process (from /proc), when procfs is there. */
function childrenOfHost(): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim().split(/\s+/);
  } catch {
    return out;
  }
  for (const e of entries) if (/^\d+$/.test(e)) out.push(Number(e));
  return out;
}

/** One round for `n` plugins: start all at once, read memory, load them, close all, check that none is left. */
async function round(n: number, plan: ManyPlan, small: Workload): Promise<Omit<ManyRow, 'rounds' | 'ratios'>> {
  // What the previous round's sessions held lets go within a few turns.
  await delay(100);
  gc();
  const rss0 = process.memoryUsage.rss();
  const heap0 = heapNow();
  const hostCpu0 = process.cpuUsage();
  const before = new Set(childrenOfHost());
  const t0 = performance.now();
  const started = await Promise.allSettled(Array.from({ length: n }, () => plugwire.start()));
  const startMs = performance.now() - t0;
  const hostCpu = process.cpuUsage(hostCpu0);
  const sessions = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const pids = sessions.map((s) => s.pid).filter((p): p is number => p !== undefined);
  // Measured, then closed whatever happened; a process left after close fails the round even when the measuring failed too.
  const measured = (async (): Promise<Omit<ManyRow, 'rounds' | 'ratios'>> => {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw new Error(`many plugins: ${n - sessions.length} of ${n} plugins failed to start: ${String(failed.reason)}`);
    if (pids.length !== n) throw new Error(`many plugins: ${n - pids.length} of ${n} started plugins have no pid`);
    // A plugin process has used CPU only for its start so far (nothing has called it yet).
    const startCpuMs = pids.reduce((sum, pid) => sum + cpuOf(pid), 0) + (hostCpu.user + hostCpu.system) / 1000;
    gc();
    const hostRss = process.memoryUsage.rss();
    const hostHeapGrowth = heapNow() - heap0;
    const pluginsRss = pids.reduce((sum, pid) => sum + rssOf(pid), 0);
    // Idle: what the plugins and the host spend while nothing calls (the host's liveness probes, the plugins' answers to them).
    await delay(MANY_IDLE_SETTLE_MS);
    const idle0 = { at: performance.now(), host: runMs(process.pid), plugins: pids.reduce((sum, pid) => sum + runMs(pid), 0) };
    await delay(MANY_IDLE_MS);
    const idleS = (performance.now() - idle0.at) / 1000;
    const idleHostCpuPerSecond = (runMs(process.pid) - idle0.host) / idleS;
    const idlePluginsCpuPerSecond = (pids.reduce((sum, pid) => sum + runMs(pid), 0) - idle0.plugins) / idleS;
    // Each call goes to the next plugin in turn, so that the callers load every plugin even when there are more plugins than callers.
    const calls: Call[] = sessions.map((s) => s.caller(small, Math.ceil(MANY_CALLERS / n)));
    const want = JSON.stringify(small.kind === 'echo' ? small.payload : null);
    for (const [i, call] of calls.entries()) {
      const answer = JSON.stringify(await call());
      if (answer !== want) throw new Error(`many plugins: plugin ${i + 1} of ${n} answered ${answer.slice(0, 120)}`);
    }
    await Promise.all(calls.map((call) => sequential(call, plan.warmCalls, 0)));
    let next = 0;
    const spread: Call = () => (calls[next++ % calls.length] as Call)();
    const cpuNow = (): { host: number; plugins: number } => {
      const u = process.cpuUsage();
      return { host: (u.user + u.system) / 1000, plugins: pids.reduce((sum, pid) => sum + cpuOf(pid), 0) };
    };
    let cpuAt = cpuNow();
    let hostCpuPerCall = NaN;
    let pluginsCpuPerCall = NaN;
    const probe: WindowProbe = {
      begin: () => {
        cpuAt = cpuNow();
      },
      end: (answered) => {
        const now = cpuNow();
        hostCpuPerCall = (now.host - cpuAt.host) / answered;
        pluginsCpuPerCall = (now.plugins - cpuAt.plugins) / answered;
      },
    };
    const callsPerSecond = await throughput(spread, MANY_CALLERS, plan.rampMs, plan.windowMs, probe);
    return {
      plugins: n,
      startMs,
      startCpuMs,
      cpuBoundMs: startCpuMs / cpus().length,
      hostRss,
      hostRssGrowth: hostRss - rss0,
      hostHeapGrowth,
      pluginsRss,
      idleHostCpuPerSecond,
      idlePluginsCpuPerSecond,
      callsPerSecond,
      hostCpuPerCall,
      pluginsCpuPerCall,
    };
  })();
  const outcome = await measured.then(
    (figures) => ({ figures }),
    (error: unknown) => ({ error }),
  );
  await Promise.all(sessions.map((s: Session) => s.close()));
  // Close must end every plugin process: none of ours, and no new child of the host, may be left.
  const left = [...new Set([...pids, ...childrenOfHost().filter((p) => !before.has(p))])].filter((p) => pidAlive(p));
  if (left.length > 0) throw new Error(`many plugins: ${left.length} process(es) left after close() of ${n} plugins: ${left.join(', ')}`);
  if ('error' in outcome) throw outcome.error;
  return outcome.figures;
}

/** Runs the scenario for 1, 5 and 20 plugins (one unrecorded round first, which loads the code the later ones reuse). */
export async function runManyPlugins(plan: ManyPlan, small: Workload, progress: (text: string) => void): Promise<ManyRow[]> {
  await round(1, { ...plan, windowMs: Math.min(plan.windowMs, 300) }, small);
  const rows: ManyRow[] = [];
  for (const n of MANY_COUNTS) {
    const rounds: Array<Omit<ManyRow, 'rounds' | 'ratios'>> = [];
    for (let r = 0; r < plan.rounds; r++) rounds.push(await round(n, plan, small));
    const med = (f: (x: Omit<ManyRow, 'rounds' | 'ratios'>) => number): number => summarize(rounds.map(f)).median;
    const row = {
      plugins: n,
      startMs: med((x) => x.startMs),
      startCpuMs: med((x) => x.startCpuMs),
      cpuBoundMs: med((x) => x.cpuBoundMs),
      hostRss: med((x) => x.hostRss),
      hostRssGrowth: med((x) => x.hostRssGrowth),
      hostHeapGrowth: med((x) => x.hostHeapGrowth),
      pluginsRss: med((x) => x.pluginsRss),
      idleHostCpuPerSecond: med((x) => x.idleHostCpuPerSecond),
      idlePluginsCpuPerSecond: med((x) => x.idlePluginsCpuPerSecond),
      callsPerSecond: med((x) => x.callsPerSecond),
      hostCpuPerCall: med((x) => x.hostCpuPerCall),
      pluginsCpuPerCall: med((x) => x.pluginsCpuPerCall),
    };
    const one = rows[0] ?? row;
    rows.push({
      ...row,
      ratios: {
        startPerPlugin: row.startMs / n / one.startMs,
        pluginRssPerPlugin: row.pluginsRss / n / one.pluginsRss,
        callsPerSecond: row.callsPerSecond / one.callsPerSecond,
      },
      rounds,
    });
    progress(`many plugins: ${n} plugin${n === 1 ? '' : 's'}, ${plan.rounds} rounds: start ${row.startMs.toFixed(0)} ms, ${row.callsPerSecond.toFixed(0)} calls/s`);
  }
  return rows;
}

/** The table of the scenario, for the console. */
export function formatMany(rows: readonly ManyRow[]): string[] {
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const kib = (b: number): string => `${(b / 1024).toFixed(0)} KiB`;
  const x = (v: number): string => `${v.toFixed(2)}×`;
  const head = ['plugins', 'start', '/plugin ×1', 'start CPU', 'CPU bound', 'host RSS', 'RSS growth/plugin', 'heap growth/plugin', 'plugins RSS', '/plugin ×1', 'idle CPU host', 'idle CPU plugins', `calls/s (${MANY_CALLERS})`, '×1', 'host CPU/call', 'plugins CPU/call'];
  const lines = rows.map((r) => [
    String(r.plugins),
    `${r.startMs.toFixed(0)} ms`,
    x(r.ratios.startPerPlugin),
    `${r.startCpuMs.toFixed(0)} ms`,
    `${r.cpuBoundMs.toFixed(0)} ms`,
    mib(r.hostRss),
    kib(r.hostRssGrowth / r.plugins),
    kib(r.hostHeapGrowth / r.plugins),
    mib(r.pluginsRss),
    x(r.ratios.pluginRssPerPlugin),
    `${r.idleHostCpuPerSecond.toFixed(1)} ms/s`,
    `${r.idlePluginsCpuPerSecond.toFixed(1)} ms/s`,
    r.callsPerSecond.toFixed(0),
    x(r.ratios.callsPerSecond),
    `${(r.hostCpuPerCall * 1000).toFixed(0)} µs`,
    `${(r.pluginsCpuPerCall * 1000).toFixed(0)} µs`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `Many plugins: all started at once (median of the rounds; ×1: per plugin against one plugin; CPU bound: start CPU / ${cpus().length} CPUs)`,
    fmt(head),
    ...lines.map(fmt),
  ];
}

/** Escapes text for SVG. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The chart of the scenario: one panel per figure (start time with its CPU bound, the
 * plugins' RSS, calls per second), a bar per number of plugins, labelled with the value
 * and its ratio to one plugin.
 */
export function drawManySvg(rows: readonly ManyRow[], subtitle: string): string {
  const panels: ReadonlyArray<{ title: string; value: (r: ManyRow) => number; mark?: (r: ManyRow) => number; text: (r: ManyRow) => string }> = [
    { title: 'start, all at once (line: CPU bound)', value: (r) => r.startMs, mark: (r) => r.cpuBoundMs, text: (r) => `${r.startMs.toFixed(0)} ms (${r.ratios.startPerPlugin.toFixed(2)}×/plugin)` },
    { title: "plugins' RSS, summed", value: (r) => r.pluginsRss, text: (r) => `${(r.pluginsRss / 1024 / 1024).toFixed(0)} MiB (${r.ratios.pluginRssPerPlugin.toFixed(2)}×/plugin)` },
    { title: `calls/s, ${MANY_CALLERS} callers spread over the plugins`, value: (r) => r.callsPerSecond, text: (r) => `${r.callsPerSecond.toFixed(0)}/s (${r.ratios.callsPerSecond.toFixed(2)}×)` },
  ];
  const panelW = 340;
  const barW = 40;
  const plotH = 180;
  const top = 70;
  const width = panels.length * panelW + 20;
  const height = top + plotH + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">plugwire: one host, 1, 5 and 20 plugins started at once</text>`,
    `<text x="10" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  panels.forEach((p, i) => {
    const x0 = 10 + i * panelW;
    const max = Math.max(...rows.flatMap((r) => [p.value(r), p.mark?.(r) ?? 0]).filter((v) => Number.isFinite(v)), 1);
    const y = (v: number): number => top + plotH - (v / max) * plotH;
    parts.push(`<text x="${x0}" y="${top - 10}" font-weight="bold">${esc(p.title)}</text>`);
    parts.push(`<line x1="${x0}" y1="${top + plotH}" x2="${x0 + panelW - 30}" y2="${top + plotH}" stroke="#999"/>`);
    rows.forEach((r, k) => {
      const bx = x0 + 60 + k * (barW + 50);
      const v = p.value(r);
      if (Number.isFinite(v)) parts.push(`<rect x="${bx}" y="${y(v).toFixed(1)}" width="${barW}" height="${(top + plotH - y(v)).toFixed(1)}" fill="#3b7dd8"/>`);
      const m = p.mark?.(r);
      if (m !== undefined && Number.isFinite(m)) parts.push(`<line x1="${bx - 4}" y1="${y(m).toFixed(1)}" x2="${bx + barW + 4}" y2="${y(m).toFixed(1)}" stroke="#d83b3b" stroke-width="2"/>`);
      parts.push(`<text x="${bx + barW / 2}" y="${top + plotH + 16}" text-anchor="middle">${r.plugins}</text>`);
      parts.push(`<text x="${bx + barW / 2}" y="${top + plotH + 32 + (k % 2) * 14}" text-anchor="middle" fill="#333">${esc(p.text(r))}</text>`);
    });
  });
  parts.push(`<text x="10" y="${height - 10}" fill="#555">Bars: number of plugins; medians of the rounds. Ratios against one plugin (per plugin for start and RSS).</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
