// Markdown tables for the README from one or more bench JSON files (bench/run.ts), for
// example a Node 20 run and a Node 24 run: the targets (one row each, one column per
// file, headed by its Node version, with the measured ratio and PASS/MISS), then the
// many-plugins rows and the pools rows of each file.
//
//   node dist/bench/readme-table.js bench/results/bench.json /tmp/bench-node24.json
//
// Exit code 0 when the tables were printed; 1 when a file cannot be read; 2 for bad arguments.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `Usage: node dist/bench/readme-table.js <bench.json>...

Prints Markdown tables of one or more bench JSON files (written by dist/bench/run.js):
the targets with the measured ratio and PASS/MISS, one column per file headed by the
Node.js version that ran it; the many-plugins rows (start, plugins' RSS, calls/s); and
the pools rows (calls/s against instances), per file. Files without a scenario add no
rows to its table; a target a file did not measure shows "—".`;

/** The parts of a target of a bench JSON this reads (older files have no `id`). */
interface TargetJson {
  readonly id?: string;
  readonly label: string;
  readonly metric: string;
  readonly limitText: string;
  readonly measuredText: string;
  readonly pass: boolean | null | undefined;
}

/** The parts of a bench JSON this reads. */
export interface BenchJson {
  readonly machine: { readonly node: string; readonly cpus?: number };
  readonly command?: string;
  readonly targets: readonly TargetJson[];
  readonly manyPlugins?: { readonly callers: number; readonly rows: ReadonlyArray<{ readonly plugins: number; readonly startMs: number; readonly pluginsRss: number; readonly callsPerSecond: number }> };
  readonly pools?: {
    readonly callers: number;
    readonly calibratedMs: number;
    readonly rows: ReadonlyArray<{ readonly instances: number; readonly callsPerSecond: number; readonly overOne: { readonly median: number }; readonly pluginsCpuPerCall: number; readonly hostCpuPerCall: number; readonly othersCpus?: number }>;
  };
}

/** A target's key across files: its id, or for files written before targets had one, what the id would be. */
function keyOf(t: TargetJson): string {
  if (t.id !== undefined) return t.id;
  if (/grpc/.test(t.label)) return `${t.metric}.grpc`;
  if (/one call per item/.test(t.label)) return `${t.metric}.calls`;
  return t.metric;
}

/** The label without what differs between runs (which Node's limit applies). */
function titleOf(t: TargetJson): string {
  return t.label.replace(/, Node (?:20|≥ 24) limit.*$/, '');
}

function nodeOf(file: BenchJson): string {
  // v20.20.2 → Node 20.20
  return `Node ${file.machine.node.replace(/^v/, '').split('.').slice(0, 2).join('.')}`;
}

function grouped(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

function cell(t: TargetJson | undefined, withLimit: boolean): string {
  if (!t || t.pass === undefined || t.pass === null) return '—';
  return `${t.measuredText}${withLimit ? ` (${t.limitText})` : ''} ${t.pass ? 'PASS' : '**MISS**'}`;
}

/** The table of targets: one row per target, one column per file. */
export function targetsTable(files: readonly BenchJson[]): string[] {
  const keys: string[] = [];
  const rows = new Map<string, Array<TargetJson | undefined>>();
  files.forEach((file, k) => {
    for (const t of file.targets) {
      const key = keyOf(t);
      if (!rows.has(key)) {
        keys.push(key);
        rows.set(key, files.map(() => undefined));
      }
      (rows.get(key) as Array<TargetJson | undefined>)[k] = t;
    }
  });
  const out = [`| target | ${files.map(nodeOf).join(' | ')} |`, `| --- |${files.map(() => ' --- |').join('')}`];
  for (const key of keys) {
    const list = rows.get(key) ?? [];
    const measured = list.filter((t): t is TargetJson => t !== undefined && t.pass !== undefined && t.pass !== null);
    if (measured.length === 0) continue;
    // One limit for every file goes in the title; limits that differ (cold start by Node version, restart in ms) go in the cells.
    const limits = new Set(measured.map((t) => t.limitText));
    const same = limits.size === 1;
    const first = measured[0] as TargetJson;
    out.push(`| ${titleOf(first)}${same ? ` (${first.limitText})` : ''} | ${list.map((t) => cell(t, !same)).join(' | ')} |`);
  }
  return out;
}

/** The many-plugins rows of each file: start, the plugins' RSS, calls/s. */
export function manyTable(files: readonly BenchJson[]): string[] {
  const with_ = files.filter((f) => f.manyPlugins !== undefined);
  if (with_.length === 0) return [];
  const callers = with_[0]?.manyPlugins?.callers ?? 16;
  const out = [`| Node | plugins | start (all at once) | plugins' RSS | calls/s, ${callers} callers |`, '| --- | --- | --- | --- | --- |'];
  for (const f of with_) {
    for (const r of f.manyPlugins?.rows ?? []) {
      out.push(`| ${nodeOf(f).replace('Node ', '')} | ${r.plugins} | ${grouped(r.startMs)} ms | ${grouped(r.pluginsRss / 1024 / 1024)} MiB | ${grouped(r.callsPerSecond)} |`);
    }
  }
  return out;
}

/** The pools rows of each file: calls/s against instances, and the CPU per call. */
export function poolsTable(files: readonly BenchJson[]): string[] {
  const with_ = files.filter((f) => f.pools !== undefined);
  if (with_.length === 0) return [];
  const p = with_[0]?.pools;
  const us = (ms: number): string => (!Number.isFinite(ms) ? '—' : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`);
  const out = [
    `| Node | instances | calls/s, ${p?.callers ?? 16} callers | × 1 instance | plugins' CPU / call | host CPU / call | other processes |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of with_) {
    for (const r of f.pools?.rows ?? []) {
      out.push(`| ${nodeOf(f).replace('Node ', '')} | ${r.instances} | ${grouped(r.callsPerSecond)} | ${r.overOne.median.toFixed(2)}× | ${us(r.pluginsCpuPerCall)} | ${us(r.hostCpuPerCall)} | ${r.othersCpus === undefined ? '—' : `${r.othersCpus.toFixed(2)} CPUs`} |`);
    }
  }
  return out;
}

/** All the tables, separated by blank lines, each under a short heading line. */
export function readmeTables(files: readonly BenchJson[]): string {
  const parts = [targetsTable(files)];
  const many = manyTable(files);
  if (many.length > 0) parts.push(['Many plugins (all started at once, median of the rounds):', '', ...many]);
  const pools = poolsTable(files);
  if (pools.length > 0) parts.push([`Plugin pools (a method of about ${(files.find((f) => f.pools)?.pools?.calibratedMs ?? 2).toFixed(1)} ms of CPU, median of the rounds):`, '', ...pools]);
  return `${parts.map((p) => p.join('\n')).join('\n\n')}\n`;
}

function main(): number {
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: process.argv.slice(2), options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      console.log(USAGE);
      return 0;
    }
    positionals = parsed.positionals;
  } catch (error) {
    console.error(`readme-table: ${(error as Error).message}\n(node dist/bench/readme-table.js --help for the options)`);
    return 2;
  }
  if (positionals.length === 0) {
    console.error('readme-table: give one or more bench JSON files\n(node dist/bench/readme-table.js --help for the options)');
    return 2;
  }
  const files: BenchJson[] = [];
  for (const file of positionals) {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as BenchJson;
      if (typeof json.machine?.node !== 'string' || !Array.isArray(json.targets)) throw new Error('not a bench JSON (no machine.node or targets)');
      files.push(json);
    } catch (error) {
      console.error(`readme-table: ${file}: ${(error as Error).message}`);
      return 1;
    }
  }
  process.stdout.write(readmeTables(files));
  return 0;
}

if (require.main === module) process.exitCode = main();
