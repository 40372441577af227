// The measuring primitives of the benchmark (bench/run.ts): latency of sequential calls,
// throughput of concurrent callers, resident memory of processes, and order statistics.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type Call = () => Promise<unknown>;

// A full collection before each memory reading, without asking for --expose-gc.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Runs two full garbage collections. */
export function gc(): void {
  collect();
  collect();
}

/** Times `count` calls made one after the other, after `warm` untimed ones: ms each. */
export async function sequential(call: Call, count: number, warm: number): Promise<Float64Array> {
  for (let i = 0; i < warm; i++) await call();
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    out[i] = performance.now() - started;
  }
  return out;
}

/**
 * Calls from `callers` loops at once, each calling again as soon as its call is answered;
 * counts the answers that arrive during `measureMs`, after `rampMs` of uncounted calls.
 * @returns answers per second
 */
/** Hooks around the measured window of {@link throughput} (after the ramp). */
export interface WindowProbe {
  begin(): void;
  /** `answered`: the calls answered within the window. */
  end(answered: number): void;
}

export async function throughput(call: Call, callers: number, rampMs: number, measureMs: number, probe?: WindowProbe): Promise<number> {
  let counting = false;
  let stop = false;
  let count = 0;
  let failure: Error | undefined;
  const loop = async (): Promise<void> => {
    try {
      while (!stop) {
        await call();
        if (counting) count++;
      }
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      stop = true;
    }
  };
  const loops = Promise.all(Array.from({ length: callers }, loop));
  await delay(rampMs);
  counting = true;
  probe?.begin();
  const started = performance.now();
  const before = count;
  await delay(measureMs);
  const answered = count - before;
  const elapsed = performance.now() - started;
  probe?.end(answered);
  stop = true;
  await loops;
  if (failure !== undefined) throw failure;
  return answered / (elapsed / 1000);
}

/**
 * Runs whole streams one after the other until `measureMs` has passed (at least one);
 * `call` resolves with the count of items it received. `probe` is told the items received.
 * @returns items per second
 */
export async function itemRate(call: Call, measureMs: number, probe?: WindowProbe): Promise<number> {
  probe?.begin();
  const started = performance.now();
  let items = 0;
  do items += (await call()) as number;
  while (performance.now() - started < measureMs);
  const elapsed = performance.now() - started;
  probe?.end(items);
  return items / (elapsed / 1000);
}

/** The CPU time (user + system) a process has used, ms, from /proc (clock ticks of 10 ms); NaN when it cannot be read. */
export function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * A {@link WindowProbe} that measures the CPU time per answered call of this process
 * (the host) and of the server process `pid`, ms; read `result` after the run.
 */
export function cpuProbe(pid: number | undefined): WindowProbe & { result: { host: number; server: number } } {
  let host = process.cpuUsage();
  let server = NaN;
  const probe = {
    result: { host: NaN, server: NaN },
    begin(): void {
      host = process.cpuUsage();
      server = cpuOf(pid);
    },
    end(answered: number): void {
      const used = process.cpuUsage(host);
      probe.result = { host: (used.user + used.system) / 1000 / answered, server: (cpuOf(pid) - server) / answered };
    },
  };
  return probe;
}

/** The resident set of a process, bytes (VmRSS); NaN when it cannot be read. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Samples a process's resident set every `everyMs` until stopped; `stop()` returns the largest seen. */
export function rssSampler(pid: number | undefined, everyMs: number): { stop(): number } {
  let peak = NaN;
  const sample = (): void => {
    const now = rssOf(pid);
    // NaN (unreadable) never replaces a reading; any reading replaces NaN.
    if (Number.isFinite(now) && !(now <= peak)) peak = now;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * Sets the CPUs the main thread of a process may run on (`taskset -p`; other threads keep
 * theirs). Returns false when that is not possible (no taskset, no such process).
 */
export function pinMainThread(pid: number | undefined, cpus: string): boolean {
  if (pid === undefined) return false;
  try {
    execFileSync('taskset', ['-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The q-quantile (0..1) of sorted values, interpolated; NaN for none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const at = (n - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (at - lo);
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly q1: number;
  readonly q3: number;
  readonly n: number;
}

/** Median, quartiles and range of the finite values. */
export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    n: sorted.length,
  };
}

/** The latency quantiles of one round, ms. */
export function latencyOf(samples: Float64Array): { p50: number; p99: number } {
  const sorted = Float64Array.from(samples).sort();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}
