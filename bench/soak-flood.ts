// The flood of the soak's chaos (bench/soak-chaos.ts): first a burst of calls fired at
// once through the soak's own client, past its maxInFlight + maxQueued, every one of
// which must settle, answered right or refused at once with PLUGWIRE_OVERLOADED, while the
// host's memory stays bounded and the plugin is not replaced; then a burst straight at the
// plugin's server (a second, raw client, as a Go host would send), past its serve
// maxInFlight: the calls over it answered 503 and not run.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { PluginError, withOptions, type PluginClient, type Remote } from '../lib';
import { waitFor, within } from '../spec/support/host-helpers';
import { slowAnswer, SOAK_SERVER_MAX_IN_FLIGHT, type Soak } from './soak-contract';
import { signalPlugin } from './soak-process';

/** How long one flooded call takes in the plugin, ms (the issue's target: a 50 ms method). */
export const FLOOD_METHOD_MS = 50;
/** Calls fired at once beyond the client's maxInFlight + maxQueued (those are refused). */
const FLOOD_EXTRA = 1000;
/** The timeout of a flooded call: an accepted call waits its turn, and must be answered. */
const FLOOD_TIMEOUT = 30_000;
/** Allowed growth of the host's resident memory during the flood, bytes. */
export const FLOOD_RSS_BOUND = 256 * 1024 * 1024;
/**
 * Requests of the raw burst at once, one per connection (undici does not pipeline them,
 * and a Go host does not either): half as many again as the server serves at once.
 */
const RAW_REQUESTS = Math.round(SOAK_SERVER_MAX_IN_FLIGHT * 1.5);
/** How long a raw call takes in the plugin, ms: long enough for the burst to arrive while the first are served. */
const RAW_METHOD_MS = 500;
const RSS_EVERY = 20;

/** What the raw burst at the plugin's server got back. */
export interface RawFloodResult {
  readonly requests: number;
  /** 200 with the right answer. */
  answered: number;
  /** 200 with another answer. */
  wrong: number;
  /** 503 with the server's overload message: refused, not run. */
  overloaded: number;
  /** Any other status, by status. */
  readonly otherStatus: Record<string, number>;
  /** Requests that got no answer, by error code. */
  readonly errors: Record<string, number>;
  /** From the first request sent to the last answer, ms. */
  ms: number;
}

/** What one flood did. */
export interface FloodResult {
  /** Calls fired at once through the client. */
  readonly calls: number;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  /** Answered right. */
  answered: number;
  /** Refused with PLUGWIRE_OVERLOADED. */
  refused: number;
  /** Answered with something else than their answer. */
  wrong: number;
  /** Failed with another error, by code (none may: an accepted call is answered). */
  readonly otherErrors: Record<string, number>;
  /** Not settled within the flood's timeout and a grace. */
  unsettled: number;
  /** From the burst to the last refusal, ms (refused at once: before any answer). */
  refusedWithinMs: number;
  /** From the burst to the last call settled, ms. */
  ms: number;
  /** The host's resident memory before the burst, and at its peak during the flood, bytes. */
  rssBeforeBytes: number;
  rssPeakBytes: number;
  /** Whether the plugin was the same process before and after the flood (not replaced by it). */
  samePlugin: boolean;
  /** The plugin had to be killed first because its socket file was deleted by the chaos before. */
  killedFirst: boolean;
  raw: RawFloodResult | undefined;
}

/** What the flood needs of the soak. */
export interface FloodTarget {
  readonly plugin: Remote<Soak>;
  readonly client: PluginClient;
  readonly socket: string;
  /** The token the plugin expects (captured by the soak's starter), for the raw burst. */
  token(): string | undefined;
  /** Replacements of a plugin that stopped answering, so far. */
  replacements(): number;
}

/**
 * Floods the plugin once, through the client, then straight at its server.
 *
 * @param target - the plugin, its client, its socket and token
 * @param round - the flood's number in the run, for call ids
 * @param failures - a line is added for each way the flood went wrong
 * @returns what it did
 */
export async function flood(target: FloodTarget, round: number, failures: string[]): Promise<FloodResult> {
  const { plugin, client } = target;
  const { maxInFlight, maxQueued } = client.config;
  const result: FloodResult = {
    calls: maxInFlight + maxQueued + FLOOD_EXTRA,
    maxInFlight,
    maxQueued,
    answered: 0,
    refused: 0,
    wrong: 0,
    otherErrors: {},
    unsettled: 0,
    refusedWithinMs: 0,
    ms: 0,
    rssBeforeBytes: 0,
    rssPeakBytes: 0,
    samePlugin: false,
    killedFirst: false,
    raw: undefined,
  };
  // A socket file the chaos deleted before is found by the next new connection, which
  // restarts the plugin: not the flood's doing. Replaced first, as a kill would be.
  if (!existsSync(target.socket)) {
    result.killedFirst = signalPlugin(client.pid, 'SIGKILL');
    await waitFor(() => existsSync(target.socket) || !result.killedFirst, 5000, 'the socket file after a kill', 10).catch(() => undefined);
  }
  const pidBefore = await whoAnswers(plugin);
  const replacementsBefore = target.replacements();

  let rssPeak = process.memoryUsage.rss();
  result.rssBeforeBytes = rssPeak;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, RSS_EVERY);
  const flooding = withOptions(plugin, { timeout: FLOOD_TIMEOUT });
  const began = performance.now();
  let settled = 0;
  const calls: Promise<void>[] = [];
  for (let i = 0; i < result.calls; i++) {
    const id = `flood${round}-${i}`;
    calls.push(
      flooding.slow(FLOOD_METHOD_MS, id).then(
        (answer) => {
          if (answer === slowAnswer(FLOOD_METHOD_MS, id)) result.answered++;
          else result.wrong++;
        },
        (error: unknown) => {
          const code = PluginError.is(error) ? error.code : '(no code)';
          if (code === 'PLUGWIRE_OVERLOADED') {
            result.refused++;
            result.refusedWithinMs = performance.now() - began;
          } else result.otherErrors[code] = (result.otherErrors[code] ?? 0) + 1;
        },
      ).finally(() => settled++),
    );
  }
  await within(Promise.all(calls), FLOOD_TIMEOUT + 5000, 'the flood to settle').catch(() => undefined);
  result.ms = performance.now() - began;
  result.unsettled = result.calls - settled;
  result.raw = await rawFlood(target, round);
  clearInterval(sampler);
  result.rssPeakBytes = Math.max(rssPeak, process.memoryUsage.rss());
  const pidAfter = await whoAnswers(plugin);
  result.samePlugin = pidBefore !== undefined && pidAfter === pidBefore && target.replacements() === replacementsBefore;

  const name = `flood ${round}`;
  if (result.wrong > 0) failures.push(`${name}: ${result.wrong} wrong answer(s)`);
  const other = Object.entries(result.otherErrors);
  if (other.length > 0) failures.push(`${name}: accepted calls failed: ${other.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  if (result.unsettled > 0) failures.push(`${name}: ${result.unsettled} call(s) never settled`);
  if (result.refused === 0) failures.push(`${name}: no call was refused: ${result.calls} calls did not pass maxInFlight + maxQueued`);
  if (!result.samePlugin) failures.push(`${name}: the plugin was replaced during the flood (pid ${String(pidBefore)} before, ${String(pidAfter)} after)`);
  const growth = result.rssPeakBytes - result.rssBeforeBytes;
  if (growth > FLOOD_RSS_BOUND) failures.push(`${name}: the host's memory grew by ${Math.round(growth / 2 ** 20)} MiB (bound ${FLOOD_RSS_BOUND / 2 ** 20} MiB)`);
  const raw = result.raw;
  if (raw.wrong > 0) failures.push(`${name}: the raw burst got ${raw.wrong} wrong answer(s)`);
  if (raw.overloaded === 0) failures.push(`${name}: the raw burst of ${raw.requests} requests got no 503 from the server (maxInFlight ${SOAK_SERVER_MAX_IN_FLIGHT})`);
  const rawOther = [...Object.entries(raw.otherStatus), ...Object.entries(raw.errors)];
  if (rawOther.length > 0) failures.push(`${name}: the raw burst got answers other than 200 and 503: ${rawOther.map(([what, n]) => `${what} ${n}`).join(', ')}`);
  return result;
}

/** The pid of the process that answers a call now, if one does within 5 s. */
async function whoAnswers(plugin: Remote<Soak>): Promise<number | undefined> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const pid = await withOptions(plugin, { timeout: 2000 })
      .pid()
      .catch(() => undefined);
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

/**
 * A burst straight at the plugin's server, as a version 1 (Go) host sends calls: past its
 * maxInFlight, the server answers 503 with its message and does not run the call.
 */
async function rawFlood(target: FloodTarget, round: number): Promise<RawFloodResult> {
  const result: RawFloodResult = { requests: RAW_REQUESTS, answered: 0, wrong: 0, overloaded: 0, otherStatus: {}, errors: {}, ms: 0 };
  const token = target.token();
  const pool = new Pool('http://plugin', {
    socketPath: target.socket,
    connections: RAW_REQUESTS,
    headersTimeout: FLOOD_TIMEOUT,
    bodyTimeout: FLOOD_TIMEOUT,
  });
  const began = performance.now();
  try {
    await Promise.all(
      Array.from({ length: RAW_REQUESTS }, async (_, i) => {
        const id = `raw${round}-${i}`;
        try {
          const res = await pool.request({
            path: '/slow',
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
            body: JSON.stringify({ Context: { Deadline: null }, Payload: [RAW_METHOD_MS, id] }),
          });
          const text = await res.body.text();
          if (res.statusCode === 200) {
            if (JSON.parse(text) === slowAnswer(RAW_METHOD_MS, id)) result.answered++;
            else result.wrong++;
          } else if (res.statusCode === 503 && String(JSON.parse(text)).startsWith('plugin overloaded')) {
            result.overloaded++;
          } else {
            result.otherStatus[res.statusCode] = (result.otherStatus[res.statusCode] ?? 0) + 1;
          }
        } catch (error) {
          const code = (error as { code?: string }).code ?? (error as Error).name;
          result.errors[code] = (result.errors[code] ?? 0) + 1;
        }
      }),
    );
  } finally {
    result.ms = performance.now() - began;
    await pool.destroy().catch(() => undefined);
  }
  return result;
}
