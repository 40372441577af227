// The soak run: C callers call a plugin process in a loop with a random mix of methods
// and payload sizes while a chaos loop kills it, freezes it, deletes its socket, wedges it
// in a busy loop (the client's liveness check must replace it) and floods it with calls
// (refused past the client's limits and the server's, the rest answered). The
// mix has streams (read whole, stopped early by break, return() or an aborted signal, and
// cut when the chaos kills the plugin mid-way) and plugin methods that call the host's
// services (plain, failing, streamed, and re-entrant: plugin → host → plugin). Every answer
// and every item is checked against the value the caller knows is right. At the end it
// checks that no call or loop was left hanging, that every stream iterator ended, and that
// nothing leaked (descriptors, processes, sockets, the host services' socket).
//
//   npm run build && node dist/bench/soak.js --seconds 20 --concurrency 8 [--json path] [--seed S]
//
// Exit code 0: no wrong answer or item, no unsettled call or stream, no stream iterator
// left running, no wedge left unreplaced, no flood call wrong or unsettled, no leak; 1:
// otherwise (a line says why); 2: bad arguments.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { callContext, connect, PluginError, spawnCommand, ValidationError, withOptions, type PluginLogger, type Remote, type Starter } from '../lib';
import { pidAlive, waitFor, within } from '../spec/support/host-helpers';
import {
  chargeOf,
  combined,
  HOST_FAILURE_CODE,
  hostEcho,
  lineOf,
  receiptOf,
  reentered,
  slowAnswer,
  Soak,
  SOAK_SERVER_MAX_IN_FLIGHT,
  SoakHost,
  SoakOrder,
  SoakReceipt,
  ticksRead,
  viaHost,
  type SoakCharge,
} from './soak-contract';
import { parseArgsOrUsage, runCli, UsageError } from './cli';
import { chaos, type ChaosCounts } from './soak-chaos';
import { FLOOD_METHOD_MS, FLOOD_RSS_BOUND, type FloodResult } from './soak-flood';
import { childPids, fdCount, isLiveChild, isSoakPlugin, peakRss, readLines, settledFdCount, socketFiles } from './soak-process';
import { generator, int, type Random } from './soak-random';
import { noWedges, WEDGE_BOUND } from './soak-wedge';

/** Every call's timeout, ms. */
const CALL_TIMEOUT = 2000;
/** Time a call in flight at the end has beyond its timeout before it counts as unsettled, ms. */
const SETTLE_GRACE = 2000;
/** A call that settles this long after its timeout is reported as late (not a failure), ms. */
const LATE_AFTER = CALL_TIMEOUT + 1000;
const SAMPLE_EVERY = 200;
const ECHO_MIN = 100;
const ECHO_MAX = 256 * 1024;
/**
 * The soak client's queue behind its maxInFlight (the default 1000): smaller than the
 * default 10000, so that a flood passes both and its accepted calls are answered in a few
 * seconds over the client's 32 connections.
 */
const MAX_QUEUED = 1000;
/** How long a caller refused with PLUGWIRE_OVERLOADED waits before its next call, ms (as a host would). */
const OVERLOADED_BACKOFF = 25;
/** Allowed growth of the host's open descriptors (lazily opened by Node itself). */
const FD_SLACK = 2;
const PLUGIN_SCRIPT = path.join(__dirname, 'soak-plugin.js');
const DEFAULT_JSON = path.join(__dirname, '../../bench/results/soak.json');

const USAGE = `Usage: node dist/bench/soak.js [--seconds N] [--concurrency C] [--json path] [--seed S]

Calls a plugin process from C concurrent callers for N seconds while killing (SIGKILL),
freezing (SIGSTOP/SIGCONT) it and deleting its socket, and checks every answer. The mix
has streams (read whole, stopped early, cut by a kill) and plugin methods that call the
host's services (failing, streamed, re-entrant). Early in the run the plugin is wedged
in a busy loop (it must be replaced within ${WEDGE_BOUND / 1000} s), mid-way it is flooded (calls past
the client's maxInFlight + maxQueued, then past the server's maxInFlight), and then every
15 to 30 s of a longer run.

  --seconds N       how long to run, seconds (default 20; up to 86400)
  --concurrency C   concurrent callers (default 8; 1 to 256)
  --json path       where to write the results as JSON (default bench/results/soak.json)
  --seed S          seed of the call mix and the chaos, an integer from 0 to 4294967295
                    (default: random, printed)
  -h, --help        show this help

Exit code: 0 when there was no wrong answer or item, no unsettled call or stream, no
stream iterator left running, no wedged plugin left unreplaced, no flooded call wrong,
failed (other than refused) or unsettled, no leaked descriptor, process or socket file;
1 otherwise; 2 for bad arguments.`;

// ---------------------------------------------------------------------------------
// Arguments

interface Options {
  readonly seconds: number;
  readonly concurrency: number;
  readonly json: string;
  readonly seed: number;
}


function numberOption(name: string, raw: string | undefined, fallback: number, pattern: RegExp, min: number, max: number, what: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!pattern.test(raw) || !(value >= min && value <= max)) {
    throw new UsageError(`--${name} must be ${what} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseOptions(args: readonly string[]): Options | 'help' {
  const values = parseArgsOrUsage(args, {
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    json: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const);
  if (values.help) return 'help';
  return {
    seconds: numberOption('seconds', values.seconds, 20, /^\d+(\.\d+)?$/, 0.1, 86_400, 'a number of seconds'),
    concurrency: numberOption('concurrency', values.concurrency, 8, /^\d+$/, 1, 256, 'an integer'),
    json: values.json === undefined ? DEFAULT_JSON : path.resolve(values.json),
    seed: numberOption('seed', values.seed, Math.floor(Math.random() * 2 ** 32), /^\d+$/, 0, 2 ** 32 - 1, 'an integer'),
  };
}

// ---------------------------------------------------------------------------------
// Payloads

// JSON escapes, multi-byte UTF-8 and a surrogate pair among plain letters: answers
// cut at a chunk boundary or decoded wrongly do not compare equal.
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-_"\\/\n\té€ü😀'];

function text(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)] ?? 'x';
  return out;
}

// ---------------------------------------------------------------------------------
// The call mix

type MethodName =
  | 'echo'
  | 'register'
  | 'register-invalid'
  | 'combine'
  | 'slow'
  | 'charge'
  | 'stream'
  | 'stream-early'
  | 'via-host'
  | 'reenter'
  | 'host-stream';

/** How a stream call ended: the items read, and the error that ended it, if one did. */
interface StreamRead {
  readonly kind: 'stream-read';
  readonly items: readonly string[];
  readonly error?: unknown;
  /** How the consumer stopped early (a planned stop), if it did. */
  readonly stopped?: 'break' | 'return' | 'abort';
}

function isStreamRead(value: unknown): value is StreamRead {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'stream-read';
}

/** Undefined when the items are `lineOf(id, 1..)` in order, else what is wrong with them. */
function streamProblem(id: string, items: readonly string[], expected: number | undefined): string | undefined {
  for (let i = 0; i < items.length; i++) {
    if (items[i] !== lineOf(id, i + 1)) return `item ${i + 1} is ${JSON.stringify(items[i]?.slice(0, 80))}, expected ${JSON.stringify(lineOf(id, i + 1))}`;
  }
  if (expected !== undefined && items.length !== expected) return `${items.length} items, expected ${expected}`;
  return undefined;
}

interface Plan {
  readonly method: MethodName;
  readonly run: () => Promise<unknown>;
  /** Undefined when the answer is right, else what is wrong with it. */
  readonly check: (answer: unknown) => string | undefined;
  /** The call must fail with PLUGWIRE_VALIDATION found by the plugin. */
  readonly expectRejection?: boolean;
}

function differs(expected: unknown, answer: unknown): string | undefined {
  const a = JSON.stringify(answer) ?? String(answer);
  const e = JSON.stringify(expected) ?? String(expected);
  if (a === e) return undefined;
  return `expected ${e.length > 160 ? `${e.slice(0, 160)}… (${e.length} chars)` : e}, got ${a.length > 160 ? `${a.slice(0, 160)}… (${a.length} chars)` : a}`;
}

class Mix {
  private readonly bulk: string;
  /** Streams that delivered an item and have not ended: what the chaos waits for to cut one mid-way. */
  underWay = 0;

  constructor(
    private readonly plugin: Remote<Soak>,
    private readonly rawCall: (route: string, payload: unknown) => Promise<unknown>,
    seed: number,
  ) {
    this.bulk = text(generator(seed), ECHO_MAX + 1024);
  }

  plan(random: Random, id: string): Plan {
    const r = random();
    if (r < 0.22) return this.echo(random, id);
    if (r < 0.3) return this.register(random, id);
    if (r < 0.32) return this.invalidRegister(random, id);
    if (r < 0.4) return this.combine(random, id);
    if (r < 0.5) return this.slow(random, id);
    if (r < 0.6) return this.charge(random, id);
    if (r < 0.7) return this.stream(random, id);
    if (r < 0.78) return this.streamEarly(random, id);
    if (r < 0.86) return this.viaHost(random, id);
    if (r < 0.93) return this.reenter(random, id);
    return this.hostStream(random, id);
  }

  /** A stream read whole: `count` items. */
  private stream(random: Random, id: string): Plan {
    const count = int(random, 1, 100);
    // A quarter paced by the plugin (about 100 ms at most), so that the chaos cuts some mid-way.
    const everyMs = random() < 0.75 ? 0 : 1;
    return {
      method: 'stream',
      run: async (): Promise<StreamRead> => {
        const items: string[] = [];
        try {
          for await (const item of this.plugin.lines(id, count, everyMs)) {
            if (items.push(item) === 1) this.underWay++;
          }
          return { kind: 'stream-read', items };
        } catch (error) {
          return { kind: 'stream-read', items, error };
        } finally {
          if (items.length > 0) this.underWay--;
        }
      },
      check: (answer) => (isStreamRead(answer) ? streamProblem(id, answer.items, answer.error === undefined ? count : undefined) : `not a stream read: ${String(answer)}`),
    };
  }

  /** A stream its consumer stops after `stopAt` items: break, return() or an aborted signal. */
  private streamEarly(random: Random, id: string): Plan {
    const count = int(random, 2, 100);
    const stopAt = int(random, 1, count - 1);
    const everyMs = random() < 0.75 ? 0 : 1;
    const way = (['break', 'return', 'abort'] as const)[int(random, 0, 2)] ?? 'break';
    return {
      method: 'stream-early',
      run: async (): Promise<StreamRead> => {
        const items: string[] = [];
        const controller = new AbortController();
        const stream = withOptions(this.plugin, { signal: controller.signal }).lines(id, count, everyMs);
        const iterator = stream[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done) return { kind: 'stream-read', items };
            if (items.push(next.value) === 1) this.underWay++;
            if (items.length < stopAt) continue;
            if (way === 'break' || way === 'return') {
              // for await's break calls return(), as this does by hand.
              await iterator.return?.();
              return { kind: 'stream-read', items, stopped: way };
            }
            controller.abort();
            // The stream ends with PLUGWIRE_ABORTED at a next pull; items it read ahead may
            // come first, and must be the next ones all the same. A stream whose last item
            // and end had arrived before the abort may end as it would have.
            for (;;) {
              const after = await iterator.next();
              if (after.done) {
                if (items.length === count) return { kind: 'stream-read', items, stopped: 'abort' };
                return { kind: 'stream-read', items, error: new Error(`the stream ended after ${items.length} of ${count} items once its signal was aborted, without PLUGWIRE_ABORTED`) };
              }
              items.push(after.value);
            }
          }
        } catch (error) {
          if (way === 'abort' && controller.signal.aborted && PluginError.is(error, 'PLUGWIRE_ABORTED')) return { kind: 'stream-read', items, stopped: 'abort' };
          return { kind: 'stream-read', items, error };
        } finally {
          if (items.length > 0) this.underWay--;
        }
      },
      check: (answer) =>
        isStreamRead(answer)
          ? streamProblem(id, answer.items, answer.error === undefined && answer.stopped !== 'abort' ? stopAt : undefined)
          : `not a stream read: ${String(answer)}`,
    };
  }

  /** A plugin method that calls a host service (which throws a coded error a quarter of the time). */
  private viaHost(random: Random, id: string): Plan {
    const fail = random() < 0.25;
    const expected = viaHost(id, fail);
    return {
      method: 'via-host',
      run: () => this.plugin.viaHost(id, fail),
      check: (answer) => (answer === expected ? undefined : differs(expected, answer)),
    };
  }

  /** Re-entrant: plugin → host → plugin ..., one to three deep. */
  private reenter(random: Random, id: string): Plan {
    const depth = int(random, 1, 3);
    const expected = reentered(id, depth);
    return {
      method: 'reenter',
      run: () => this.plugin.reenter(id, depth),
      check: (answer) => (answer === expected ? undefined : differs(expected, answer)),
    };
  }

  /** A plugin method that reads a host service's stream, whole or stopping early. */
  private hostStream(random: Random, id: string): Plan {
    const count = int(random, 1, 20);
    const stopAt = random() < 0.5 ? 0 : int(random, 1, count);
    const expected = ticksRead(count, stopAt);
    return {
      method: 'host-stream',
      run: () => this.plugin.hostStream(id, count, stopAt),
      check: (answer) => (answer === expected ? undefined : differs(expected, answer)),
    };
  }

  private echo(random: Random, id: string): Plan {
    // Sizes spread evenly on a log scale: mostly small, some large.
    const size = Math.round(ECHO_MIN * (ECHO_MAX / ECHO_MIN) ** random());
    const offset = int(random, 0, this.bulk.length - size);
    const data = `${id}|${this.bulk.slice(offset, offset + Math.max(0, size - id.length - 1))}`;
    return {
      method: 'echo',
      run: () => this.plugin.echo(data),
      check: (answer) => (answer === data ? undefined : differs(data, answer)),
    };
  }

  private order(random: Random, id: string): SoakOrder {
    const order = new SoakOrder();
    order.id = id;
    order.quantity = int(random, 1, 1000);
    order.unitPrice = int(random, 0, 1_000_000);
    order.tags = Array.from({ length: int(random, 0, 5) }, (_, i) => `t${i}-${int(random, 0, 99)}`);
    return order;
  }

  private register(random: Random, id: string): Plan {
    const order = this.order(random, id);
    const expected = receiptOf(order);
    return {
      method: 'register',
      run: () => this.plugin.register(order),
      check: (answer) =>
        answer instanceof SoakReceipt ? differs(expected, { ...answer }) : `expected a SoakReceipt instance, got ${JSON.stringify(answer)?.slice(0, 160) ?? String(answer)}`,
    };
  }

  private invalidRegister(random: Random, id: string): Plan {
    // Sent untyped, so that the host does not check it first: the plugin must refuse it.
    const order = { ...this.order(random, id), quantity: 0, tags: 'not an array' };
    return {
      method: 'register-invalid',
      run: () => this.rawCall('/register', order),
      check: (answer) => `the plugin accepted an invalid order and answered ${JSON.stringify(answer)?.slice(0, 160) ?? String(answer)}`,
      expectRejection: true,
    };
  }

  private combine(random: Random, id: string): Plan {
    const a = int(random, -1_000_000, 1_000_000);
    const b = int(random, -1_000_000, 1_000_000);
    const upper = random() < 0.5;
    const expected = combined(id, a, b, upper);
    return {
      method: 'combine',
      run: () => this.plugin.combine(id, a, b, upper),
      check: (answer) => (answer === expected ? undefined : differs(expected, answer)),
    };
  }

  private slow(random: Random, id: string): Plan {
    const ms = int(random, 0, 50);
    const expected = slowAnswer(ms, id);
    return {
      method: 'slow',
      run: () => this.plugin.slow(ms, id),
      check: (answer) => (answer === expected ? undefined : differs(expected, answer)),
    };
  }

  private charge(random: Random, id: string): Plan {
    const amount = int(random, 0, 1_000_000);
    const expected: SoakCharge = chargeOf(id, amount);
    return {
      method: 'charge',
      run: () => this.plugin.charge(id, amount),
      check: (answer) => differs(expected, answer),
    };
  }
}

// ---------------------------------------------------------------------------------
// Counting

interface MethodCounts {
  calls: number;
  right: number;
  wrong: number;
  errors: Record<string, number>;
}

/** Error messages with ids and numbers blanked out, so that alike errors count together. */
function kindOf(message: string): string {
  return message.replace(/c\d+-\d+/g, '<id>').replace(/\d+/g, '#').slice(0, 240);
}

class Tally {
  readonly perMethod: Record<string, MethodCounts> = {};
  readonly errors: Record<string, number> = {};
  readonly errorKinds: Record<string, Record<string, number>> = {};
  readonly wrongSamples: string[] = [];
  readonly uncodedSamples: string[] = [];
  readonly latencies: number[] = [];
  calls = 0;
  right = 0;
  expectedRejections = 0;
  wrong = 0;
  uncoded = 0;
  late = 0;
  settledAfterEnd = 0;
  echoedChars = 0;
  closed = false;
  /** Streams: read whole, stopped early by their consumer (by way), cut by an error after items or before any. */
  readonly streams = { whole: 0, stopped: { break: 0, return: 0, abort: 0 }, cutAfterItems: 0, cutBeforeItems: 0, items: 0, cutByCode: {} as Record<string, number> };

  private counts(method: MethodName): MethodCounts {
    return (this.perMethod[method] ??= { calls: 0, right: 0, wrong: 0, errors: {} });
  }

  record(plan: Plan, id: string, ms: number, outcome: { answer: unknown } | { error: unknown }): void {
    if (this.closed) {
      this.settledAfterEnd++;
      return;
    }
    const counts = this.counts(plan.method);
    this.calls++;
    counts.calls++;
    this.latencies.push(ms);
    if (ms > LATE_AFTER) this.late++;
    if ('answer' in outcome && isStreamRead(outcome.answer)) {
      // A stream's items are checked whether it ended well or not: nothing twice, nothing
      // out of order, nothing of another stream; then its error counts as any call's.
      const read = outcome.answer;
      this.streams.items += read.items.length;
      const problem = plan.check(read);
      if (problem !== undefined) {
        this.wrong++;
        counts.wrong++;
        if (this.wrongSamples.length < 10) this.wrongSamples.push(`${plan.method} ${id}: ${problem}`);
        return;
      }
      if (read.error === undefined) {
        this.right++;
        counts.right++;
        if (read.stopped) this.streams.stopped[read.stopped]++;
        else this.streams.whole++;
        return;
      }
      const code = PluginError.is(read.error) ? read.error.code : '(no code)';
      if (read.items.length > 0) this.streams.cutAfterItems++;
      else this.streams.cutBeforeItems++;
      this.streams.cutByCode[code] = (this.streams.cutByCode[code] ?? 0) + 1;
      outcome = { error: read.error };
    }
    if ('answer' in outcome) {
      const problem = plan.check(outcome.answer);
      if (problem === undefined) {
        this.right++;
        counts.right++;
        if (plan.method === 'echo' && typeof outcome.answer === 'string') this.echoedChars += outcome.answer.length;
      } else {
        this.wrong++;
        counts.wrong++;
        if (this.wrongSamples.length < 10) this.wrongSamples.push(`${plan.method} ${id}: ${problem}`);
      }
      return;
    }
    const { error } = outcome;
    if (plan.expectRejection && error instanceof ValidationError && error.side === 'plugin') {
      this.right++;
      this.expectedRejections++;
      counts.right++;
      return;
    }
    if (PluginError.is(error)) {
      this.errors[error.code] = (this.errors[error.code] ?? 0) + 1;
      counts.errors[error.code] = (counts.errors[error.code] ?? 0) + 1;
      const kinds = (this.errorKinds[error.code] ??= {});
      const kind = kindOf(error.message);
      if (kinds[kind] !== undefined || Object.keys(kinds).length < 12) kinds[kind] = (kinds[kind] ?? 0) + 1;
      return;
    }
    this.uncoded++;
    counts.errors['(no code)'] = (counts.errors['(no code)'] ?? 0) + 1;
    if (this.uncodedSamples.length < 10) this.uncodedSamples.push(`${plan.method} ${id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Keeps the first lines of some output, and counts all of them. */
class Lines {
  count = 0;
  readonly first: string[] = [];
  add(line: string): void {
    this.count++;
    if (this.first.length < 10) this.first.push(line.slice(0, 300));
  }
}

// ---------------------------------------------------------------------------------
// The host services the plugin calls

/** The coded error of {@link SoakHostImpl.fail}. */
class SoakHostFailure extends Error {
  override name = 'SoakHostFailure';
  readonly code = HOST_FAILURE_CODE;
}

/** The host's side of {@link SoakHost}, counting what its calls went through. */
class SoakHostImpl extends SoakHost {
  /** The plugin, for the re-entrant `/callback`: set once connected. */
  plugin: Remote<Soak> | undefined;
  readonly calls: Record<string, number> = {};
  /** `/ticks` iterators: started, past their finally, and under way. */
  ticksStarted = 0;
  ticksFinished = 0;

  private count(): void {
    const { route } = callContext();
    this.calls[route] = (this.calls[route] ?? 0) + 1;
  }

  override async echo(id: string): Promise<string> {
    this.count();
    return hostEcho(id);
  }

  override async fail(id: string): Promise<string> {
    this.count();
    throw new SoakHostFailure(`the host failed ${id} on purpose`);
  }

  override async callback(id: string, depth: number): Promise<string> {
    this.count();
    if (!this.plugin) throw new Error('the plugin is not connected yet');
    return `host(${await this.plugin.reenter(id, depth - 1)})`;
  }

  override async *ticks(_id: string, count: number): AsyncGenerator<number> {
    this.count();
    const { signal } = callContext();
    this.ticksStarted++;
    try {
      for (let n = 1; n <= count; n++) {
        yield n;
        // A turn of the event loop between ticks, so that a reader's stop comes while the
        // stream is under way rather than after the whole of it was written.
        await new Promise((resolve) => setImmediate(resolve));
        signal.throwIfAborted();
      }
    } finally {
      this.ticksFinished++;
    }
  }
}

// ---------------------------------------------------------------------------------
// The run

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function byCode(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
}

/** The summary's line of the wedges. */
function wedgeLine(wedges: ReturnType<typeof noWedges>, replacements: { all: number; noSocket: number }): string {
  const max = (values: readonly number[]): number => Math.max(0, ...values);
  const times =
    wedges.replaced === 0
      ? ''
      : `: gone after ${wedges.goneMs.join(', ')} ms, a new process answering after ${wedges.answeringMs.join(', ')} ms (max ${max(wedges.answeringMs)}, bound ${WEDGE_BOUND})`;
  return (
    `  wedges         ${wedges.wedged} busy loop(s) (${wedges.tried} /wedge calls, ${wedges.missed} reached no plugin), ${wedges.replaced} replaced by the liveness check${times}, ` +
    `${wedges.notReplaced} not; /wedge calls ended with ${byCode(wedges.callOutcomes)}; ` +
    `${replacements.all} liveness replacement(s) in all (${replacements.noSocket} of a plugin whose socket file was deleted)`
  );
}

/** The summary's lines of a flood. */
function floodLines(f: FloodResult, index: number): string[] {
  const raw = f.raw;
  const lines = [
    `  flood ${String(index + 1).padEnd(9)}${f.calls} calls of a ${FLOOD_METHOD_MS} ms method at once (maxInFlight ${f.maxInFlight}, maxQueued ${f.maxQueued}): ${f.answered} answered right, ` +
      `${f.refused} refused PLUGWIRE_OVERLOADED (the last ${Math.round(f.refusedWithinMs)} ms after the burst), ${f.wrong} wrong, other errors ${byCode(f.otherErrors)}, ${f.unsettled} unsettled, ` +
      `in ${Math.round(f.ms)} ms; host RSS ${mib(f.rssBeforeBytes)} before, peak ${mib(f.rssPeakBytes)} (+${mib(f.rssPeakBytes - f.rssBeforeBytes)}); ` +
      `plugin replaced: ${f.samePlugin ? 'no' : 'YES'}${f.killedFirst ? ' (killed first: its socket file was gone)' : ''}`,
  ];
  if (raw) {
    lines.push(
      `    at the server ${raw.requests} raw requests at once (serve maxInFlight ${SOAK_SERVER_MAX_IN_FLIGHT}): ${raw.answered} answered right, ${raw.overloaded} refused 503 PLUGWIRE_OVERLOADED, ` +
        `${raw.wrong} wrong, other statuses ${byCode(raw.otherStatus)}, errors ${byCode(raw.errors)}, in ${Math.round(raw.ms)} ms`,
    );
  }
  return lines;
}

async function soak(options: Options): Promise<number> {
  const began = new Date();
  const fdStart = fdCount();
  const work = mkdtempSync(path.join(tmpdir(), 'pw-soak-'));
  const socket = path.join(work, 'plugin.sock');
  const spawnLog = path.join(work, 'spawns.log');
  const chargeLog = path.join(work, 'charges.log');
  const hostLog = path.join(work, 'host-sockets.log');
  const wedgeLog = path.join(work, 'wedges.log');
  const services = new SoakHostImpl();
  const failures: string[] = [];
  const pluginOut = new Lines();
  const pluginErr = new Lines();
  const notices = new Lines();
  const pluginLogger: PluginLogger = { log: (line) => pluginOut.add(line), error: (line) => pluginErr.add(line) };
  // The client says so when its liveness check replaces a plugin that stopped answering:
  // wedged, or unreachable once the chaos deleted its socket file (the probes fail with ENOENT).
  const replacements = { all: 0, noSocket: 0 };
  const clientLogger: PluginLogger = {
    log: (line) => notices.add(line),
    error: (line) => {
      if (line.includes('stopped answering')) {
        replacements.all++;
        if (line.includes('ENOENT')) replacements.noSocket++;
      }
      notices.add(line);
    },
  };
  const tally = new Tally();
  const chaosCounts: ChaosCounts = { kill: 0, stop: 0, unlink: 0, nothing: 0, killMidStream: 0, skipped: 0 };
  const wedges = noWedges();
  const floods: FloodResult[] = [];
  const inflight = new Map<string, { method: MethodName; started: number }>();
  const pidsSeen = new Set<number>();
  let hostPeak = process.memoryUsage.rss();
  let pluginPeak = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();

  console.log(`soak: ${options.seconds} s, ${options.concurrency} callers, seed ${options.seed}, call timeout ${CALL_TIMEOUT} ms`);
  const spawn = spawnCommand(process.execPath, [PLUGIN_SCRIPT], {
    env: { SOAK_SPAWN_LOG: spawnLog, SOAK_CHARGE_LOG: chargeLog, SOAK_HOST_LOG: hostLog, SOAK_WEDGE_LOG: wedgeLog },
    logger: pluginLogger,
  });
  // The plugin's token, kept for the flood's raw client, which calls the server as a Go host would.
  let token: string | undefined;
  const starter: Starter = {
    name: spawn.name,
    async start(context) {
      const started = await spawn.start(context);
      token = started.token ?? context.token;
      return started;
    },
  };
  const { plugin, client, close } = await connect(Soak, starter, {
    socket,
    timeout: CALL_TIMEOUT,
    logger: clientLogger,
    services: [services],
    maxQueued: MAX_QUEUED,
  }).catch((error: unknown) => {
    rmSync(work, { recursive: true, force: true });
    throw error;
  });
  services.plugin = plugin;

  const sample = (): void => {
    hostPeak = Math.max(hostPeak, process.memoryUsage.rss());
    const pid = client.pid;
    if (pid !== undefined && isLiveChild(pid)) {
      pidsSeen.add(pid);
      pluginPeak = Math.max(pluginPeak, peakRss(pid));
    }
  };
  const sampler = setInterval(sample, SAMPLE_EVERY);
  sample();

  const mix = new Mix(plugin, (route, payload) => client.call(route, payload), options.seed);
  let stopping = false;
  const caller = async (index: number): Promise<void> => {
    const random = generator((options.seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0);
    for (let n = 1; !stopping; n++) {
      const id = `c${index}-${n}`;
      const plan = mix.plan(random, id);
      const started = performance.now();
      inflight.set(id, { method: plan.method, started });
      let outcome: { answer: unknown } | { error: unknown };
      try {
        outcome = { answer: await plan.run() };
      } catch (error) {
        outcome = { error };
      }
      inflight.delete(id);
      tally.record(plan, id, performance.now() - started, outcome);
      // A host refused for overload backs off rather than send again at once.
      if ('error' in outcome && PluginError.is(outcome.error, 'PLUGWIRE_OVERLOADED')) await delay(OVERLOADED_BACKOFF);
    }
  };

  const chaosStop = new AbortController();
  const chaosFailures: string[] = [];
  const chaosDone = chaos(generator(options.seed ^ 0x5eed), chaosStop.signal, performance.now() + options.seconds * 1000, {
    plugin,
    client,
    socket,
    token: () => token,
    replacements: () => replacements.all,
    streamsUnderWay: () => mix.underWay,
    wedgeLog,
    settleMs: CALL_TIMEOUT + SETTLE_GRACE,
    counts: chaosCounts,
    wedges,
    floods,
    failures: chaosFailures,
  });
  const callers = Promise.all(Array.from({ length: options.concurrency }, (_, i) => caller(i)));

  // Ctrl-C ends the run early, cleanly; a second one is Node's default.
  const early = new AbortController();
  const onSigint = (): void => {
    console.log('\nsoak: interrupted: ending the run early');
    early.abort();
  };
  process.once('SIGINT', onSigint);
  const startedAt = performance.now();
  const progress = setInterval(() => {
    const errors = Object.values(tally.errors).reduce((a, b) => a + b, 0);
    console.log(
      `  ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(5)} s: ${tally.calls} calls, ${tally.right} right, ${errors} errors, ` +
        `${tally.wrong} wrong, ${client.stats.restarts} restarts, ${inflight.size} in flight`,
    );
  }, 10_000);
  await delay(options.seconds * 1000, undefined, { signal: early.signal }).catch(() => undefined);
  const ranMs = performance.now() - startedAt;
  clearInterval(progress);
  process.off('SIGINT', onSigint);

  // The end: stop the chaos (it thaws a frozen plugin), let each caller finish its call.
  chaosStop.abort();
  await chaosDone;
  stopping = true;
  const settled = await within(callers, CALL_TIMEOUT + SETTLE_GRACE, 'the callers to finish').then(
    () => true,
    () => false,
  );
  tally.closed = true;
  const now = performance.now();
  const unsettled = [...inflight].map(([id, call]) => `${call.method} ${id}, pending for ${Math.round(now - call.started)} ms`);
  if (!settled && unsettled.length === 0) failures.push('the callers did not finish, yet no call is pending');
  const stats = client.stats;
  sample();
  clearInterval(sampler);

  // Every stream iterator ends once its call did: the plugin's own, the host's it read,
  // and the host's /ticks (a plugin killed mid-way leaves none behind in the new process).
  let pluginIterators = -1;
  const iteratorsEnded = await waitFor(
    async () => {
      pluginIterators = await plugin.activeIterators().catch(() => -1);
      return pluginIterators === 0 && services.ticksFinished === services.ticksStarted;
    },
    5000,
    'every stream iterator to end',
    50,
  ).then(
    () => true,
    () => false,
  );
  if (!iteratorsEnded) {
    failures.push(
      `stream iterators still under way after the callers ended: ${pluginIterators < 0 ? 'the plugin did not answer' : `${pluginIterators} in the plugin`}, ` +
        `${services.ticksStarted - services.ticksFinished} host /ticks`,
    );
  }

  const grace = client.config.terminationGrace + 5000;
  await within(close(), grace, 'close()').catch((error: Error) => failures.push(error.message));
  const fdEnd = await settledFdCount();
  loopDelay.disable();

  const spawnPids = readLines(spawnLog).map(Number);
  const candidates = new Set([...spawnPids, ...pidsSeen, ...childPids()]);
  const processesLeft = [...candidates].filter((pid) => pidAlive(pid) && isSoakPlugin(pid, PLUGIN_SCRIPT));
  const socketsLeft = socketFiles(work);
  // The host services' socket (in a private directory of its own, as the plugin's socket
  // was given): gone after close(), with its directory.
  const hostSockets = [...new Set(readLines(hostLog))];
  const hostLeft = hostSockets.flatMap((file) => [file, path.dirname(file)]).filter((file) => existsSync(file) && file !== tmpdir());
  const charges = readLines(chargeLog);
  const chargeDuplicates = charges.length - new Set(charges).size;
  rmSync(work, { recursive: true, force: true });

  const sorted = Float64Array.from(tally.latencies).sort();
  const errorTotal = Object.values(tally.errors).reduce((a, b) => a + b, 0);
  if (tally.wrong > 0) failures.push(`${tally.wrong} wrong answer(s)`);
  if (tally.uncoded > 0) failures.push(`${tally.uncoded} call(s) failed with an error that is not a PluginError`);
  if (unsettled.length > 0) failures.push(`${unsettled.length} call(s) never settled (within ${CALL_TIMEOUT + SETTLE_GRACE} ms of the end)`);
  if (fdEnd > fdStart + FD_SLACK) failures.push(`descriptors leaked: ${fdStart} open at the start, ${fdEnd} at the end`);
  if (processesLeft.length > 0) failures.push(`plugin process(es) left after close(): ${processesLeft.join(', ')}`);
  if (socketsLeft.length > 0) failures.push(`socket file(s) left after close(): ${socketsLeft.join(', ')}`);
  if (hostSockets.length === 0) failures.push('the plugin never named the host services\' socket');
  if (hostLeft.length > 0) failures.push(`host services' socket or directory left after close(): ${hostLeft.join(', ')}`);
  if (chargeDuplicates > 0) failures.push(`${chargeDuplicates} run(s) of the non-idempotent /charge were repeats of a call that had already run`);
  failures.push(...chaosFailures);

  const result = {
    startedAt: began.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    options: { seconds: options.seconds, concurrency: options.concurrency, seed: options.seed, callTimeoutMs: CALL_TIMEOUT },
    ranMs: Math.round(ranMs),
    calls: {
      total: tally.calls,
      right: tally.right,
      expectedRejections: tally.expectedRejections,
      errors: errorTotal,
      wrong: tally.wrong,
      uncoded: tally.uncoded,
      unsettled: unsettled.length,
      settledAfterEnd: tally.settledAfterEnd,
      late: tally.late,
      errorsByCode: tally.errors,
      perMethod: tally.perMethod,
      echoedChars: tally.echoedChars,
      latencyMs: {
        p50: Math.round(percentile(sorted, 50)),
        p99: Math.round(percentile(sorted, 99)),
        max: Math.round(sorted[sorted.length - 1] ?? 0),
      },
      ratePerSecond: Math.round(tally.calls / (ranMs / 1000)),
    },
    streams: tally.streams,
    hostServices: {
      callsByRoute: services.calls,
      ticksStarted: services.ticksStarted,
      ticksFinished: services.ticksFinished,
      iteratorsEnded,
      socketsLeft: hostLeft.length,
    },
    chaos: chaosCounts,
    wedges: { ...wedges, boundMs: WEDGE_BOUND, livenessReplacements: replacements.all, livenessReplacementsNoSocket: replacements.noSocket },
    floods: floods.map((f) => ({ ...f, methodMs: FLOOD_METHOD_MS, rssBoundBytes: FLOOD_RSS_BOUND })),
    plugin: {
      starts: stats.starts,
      restarts: stats.restarts,
      failedStarts: stats.failedStarts,
      spawns: spawnPids.length,
      peakRssBytes: pluginPeak,
      processesLeft: processesLeft.length,
      socketFilesLeft: socketsLeft.length,
      chargeRuns: charges.length,
      chargeDuplicates,
      outputLines: pluginOut.count,
      errorLines: pluginErr.count,
    },
    host: {
      peakRssBytes: hostPeak,
      fdStart,
      fdEnd,
      eventLoopDelayMs: { p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
    },
    samples: {
      wrong: tally.wrongSamples,
      uncoded: tally.uncodedSamples,
      unsettled: unsettled.slice(0, 20),
      errorKinds: tally.errorKinds,
      clientNotices: { count: notices.count, first: notices.first },
      pluginOutput: pluginOut.first,
      pluginErrors: pluginErr.first,
    },
    passed: failures.length === 0,
    failures,
  };

  const c = result.calls;
  const st = tally.streams;
  const lines = [
    '',
    `soak: ${(ranMs / 1000).toFixed(1)} s, ${options.concurrency} callers, seed ${options.seed}`,
    `  calls          ${c.total} (${c.ratePerSecond}/s), latency p50 ${c.latencyMs.p50} ms, p99 ${c.latencyMs.p99} ms, max ${c.latencyMs.max} ms`,
    `  right          ${c.right} (of which ${c.expectedRejections} invalid orders refused by the plugin, as they must be)`,
    `  errors         ${c.errors}${errorTotal > 0 ? `: ${Object.entries(tally.errors).map(([code, n]) => `${code} ${n}`).join(', ')}` : ''}`,
    `  WRONG          ${c.wrong}`,
    `  not coded      ${c.uncoded}`,
    `  unsettled      ${c.unsettled}`,
    `  late           ${c.late} (settled more than ${LATE_AFTER} ms after the call)`,
    `  per method     ${Object.entries(tally.perMethod).map(([m, n]) => `${m} ${n.right}/${n.calls}`).join(', ')} (right/calls)`,
    `  streams        ${st.whole} read whole, ${st.stopped.break + st.stopped.return + st.stopped.abort} stopped early (${st.stopped.break} break, ${st.stopped.return} return(), ${st.stopped.abort} abort), ` +
      `${st.cutAfterItems} cut after items, ${st.cutBeforeItems} before any${Object.keys(st.cutByCode).length > 0 ? ` (${Object.entries(st.cutByCode).map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}; ${st.items} items`,
    `  host services  ${Object.entries(services.calls).map(([route, n]) => `${route} ${n}`).join(', ')} (calls served); /ticks ${services.ticksFinished}/${services.ticksStarted} ended; ` +
      `every iterator ended: ${iteratorsEnded ? 'yes' : 'NO'}`,
    `  chaos          ${chaosCounts.kill} SIGKILL (${chaosCounts.killMidStream} while a stream was under way), ${chaosCounts.stop} SIGSTOP/SIGCONT, ${chaosCounts.unlink} socket deleted, ${chaosCounts.nothing} nothing, ${chaosCounts.skipped} skipped`,
    wedgeLine(wedges, replacements),
    ...floods.flatMap(floodLines),
    `  plugin         ${stats.starts} starts, ${stats.restarts} restarts, ${stats.failedStarts} failed starts, ${result.plugin.spawns} processes spawned, peak RSS ${mib(pluginPeak)}`,
    `  /charge        ${charges.length} runs, ${chargeDuplicates} repeated`,
    `  host           peak RSS ${mib(hostPeak)}, descriptors ${fdStart} at start, ${fdEnd} at end; event loop delay p99 ${result.host.eventLoopDelayMs.p99} ms, max ${result.host.eventLoopDelayMs.max} ms`,
    `  left behind    ${processesLeft.length} plugin processes, ${socketsLeft.length} socket files, ${hostLeft.length} host services' sockets or directories`,
  ];
  for (const [code, kinds] of Object.entries(tally.errorKinds)) {
    for (const [kind, n] of Object.entries(kinds)) lines.push(`    ${code} x${n}: ${kind}`);
  }
  for (const sample of [...tally.wrongSamples, ...tally.uncodedSamples, ...unsettled.slice(0, 10)]) lines.push(`  ! ${sample}`);
  if (pluginErr.count > 0) lines.push(`  plugin stderr  ${pluginErr.count} lines, first: ${JSON.stringify(pluginErr.first.slice(0, 3))}`);
  if (notices.count > 0) lines.push(`  client notices ${notices.count}, first: ${JSON.stringify(notices.first[0])}`);
  // Not a failure (the chaos is random), but a run that never cut a stream did not test it.
  if (st.cutAfterItems === 0) lines.push('  note           no stream was cut mid-way by the chaos in this run');
  if (wedges.wedged === 0) lines.push('  note           no plugin was wedged in this run (a wedge needs 10 s of the run left)');
  if (floods.length === 0) lines.push('  note           the plugin was not flooded in this run (a flood starts 9 to 12 s in)');
  lines.push(failures.length === 0 ? 'soak: PASS' : `soak: FAIL: ${failures.join('; ')}`);
  console.log(lines.join('\n'));

  mkdirSync(path.dirname(options.json), { recursive: true });
  const tmp = `${options.json}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(tmp, options.json);
  const shown = path.relative(process.cwd(), options.json);
  console.log(`soak: results written to ${shown.startsWith('..') ? options.json : shown}`);
  return failures.length === 0 ? 0 : 1;
}

runCli<Options>({
  name: 'soak',
  script: 'dist/bench/soak.js',
  usage: USAGE,
  parse: parseOptions,
  bound: (options) => ({ ms: options.seconds * 1000 + 120_000, text: `${options.seconds} s + 120 s` }),
  run: soak,
});
