/**
 * Stand-in for a host built with the Go library tilotech/go-plugin
 * (plugin.Start + StartWithCmd + Client.Call).
 *
 * Written WITHOUT plugwire, with node core modules and undici only, following
 * /work/shared/PROTOCOL.md (protocol version 1), so that a plugwire plugin can
 * be tested against "a Go host" where Go is not installed.
 *
 * What it reproduces:
 * - start-up: stale socket removed, env = host env + extra env +
 *   PLUGIN_SOCKET, stdout scanned line by line (Go's bufio.Scanner: "\n"
 *   separated, one trailing "\r" dropped, last unterminated line counts) for
 *   `plugin is ready` / `failed to listen on socket`; failure when the process
 *   exits first or after 10 s.
 * - a call: `POST <method>` with Host `plugin`, `User-Agent: Go-http-client/1.1`,
 *   `Content-Type: application/json`, `Accept-Encoding: gzip` and a
 *   Content-Length; body `{"Context":{"Deadline":...},"Payload":...}` as Go's
 *   json.Marshal writes it (no trailing newline; `<`, `>`, `&`, U+2028 and
 *   U+2029 escaped as \u003c etc.); a gzip-encoded answer is decompressed
 *   transparently like Go's transport does; the answer is decoded like Go's
 *   json.Decoder (first value only, trailing data ignored, empty body = EOF).
 *
 * What it does not reproduce:
 * - undici always adds a `connection: keep-alive` request header (Go sends no
 *   Connection header) and writes header names as `host`/`content-length`.
 * - the Go host's restart-and-resend after a transport error and its pid file;
 *   a transport error is reported as a rejected `call` instead.
 * - plugin output is collected in `stdout`/`stderr` instead of being copied
 *   to the host's own stdout/stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Client } from 'undici';
import { goDecodeFirst, goEncode, goKind } from '../fixtures/compat/go-json';

const READY_LINE = 'plugin is ready';
const FAILED_LINE = 'failed to listen on socket';
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 30_000;
const KILL_AFTER_MS = 5_000;

const gunzipAsync = promisify(gunzip);

// ---------------------------------------------------------------------------
// Public types

export interface GoStartOptions {
  /** Extra environment for the plugin, on top of process.env (undefined removes a variable). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line; default 10000 (the Go host's 10 s). */
  startTimeoutMs?: number;
}

export interface GoCallOptions {
  /**
   * The Context deadline. A Date is encoded like Go encodes time.Time
   * (see formatGoTime); a string is sent verbatim as the JSON string (to test
   * nanosecond or malformed deadlines); null/undefined sends `null`.
   */
  deadline?: Date | string | null;
  /**
   * Zone offset in minutes east of UTC for a Date deadline (a Go host sends its
   * local zone, e.g. 60 gives `+01:00`); default 0, i.e. `Z`.
   */
  zoneOffsetMinutes?: number;
  /** Whole-call timeout (Go's http.Client.Timeout); default 30000; 0 = none. */
  timeoutMs?: number;
}

export interface GoCallResult {
  status: number;
  /** Response headers as received on the wire (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The response body as text (after gzip decoding, if the plugin gzipped it). */
  rawBody: string;
  /** status === 200 */
  ok: boolean;
  /** For status 200: the decoded JSON body. */
  value?: unknown;
  /** For any other status: the decoded error message (a JSON `null` body gives ''). */
  error?: string;
}

export interface GoExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GoHostPlugin {
  readonly pid: number;
  readonly process: ChildProcess;
  readonly socket: string;
  /** Every line the plugin wrote to stdout (ready line included), in order. */
  readonly stdout: string[];
  /** Every line the plugin wrote to stderr, in order. */
  readonly stderr: string[];
  /** Resolves once the process has exited and its stdio has closed. */
  readonly exited: Promise<GoExit>;
  call(method: string, payload: unknown, opts?: GoCallOptions): Promise<GoCallResult>;
  /** SIGTERM, SIGKILL after 5 s; resolves once exited and stdio closed. Idempotent. */
  term(): Promise<void>;
}

export type GoHostErrorKind = 'start' | 'marshal' | 'timeout' | 'transport' | 'decode';

/** Errors of the Go host stand-in; `kind` tells which step failed. */
export class GoHostError extends Error {
  /** For kind 'start': the plugin's output and exit, once it has been stopped. */
  stdout?: string[];
  stderr?: string[];
  exit?: GoExit;

  constructor(
    readonly kind: GoHostErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GoHostError';
  }
}

// ---------------------------------------------------------------------------
// Go encoding helpers

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Formats a Date as Go's time.Time.MarshalJSON does (RFC 3339 with up to nine
 * fraction digits, trailing zeros trimmed, no fraction when it is zero), e.g.
 * `2026-11-25T12:00:00.123Z`. `zoneOffsetMinutes` (minutes east of UTC)
 * selects the zone: 0 gives `Z`, 60 gives `+01:00`.
 */
export function formatGoTime(d: Date, zoneOffsetMinutes = 0): string {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('formatGoTime: invalid Date');
  if (!Number.isInteger(zoneOffsetMinutes) || Math.abs(zoneOffsetMinutes) >= 24 * 60) {
    throw new RangeError('Time.MarshalJSON: timezone hour outside of range [0,23]');
  }
  const local = new Date(ms + zoneOffsetMinutes * 60_000);
  const year = local.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError('Time.MarshalJSON: year outside of range [0,9999]');
  let text =
    `${pad(year, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}` +
    `T${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  const millis = local.getUTCMilliseconds();
  if (millis !== 0) text += `.${pad(millis, 3).replace(/0+$/, '')}`;
  if (zoneOffsetMinutes === 0) return `${text}Z`;
  const abs = Math.abs(zoneOffsetMinutes);
  return `${text}${zoneOffsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

/** json.Marshal: HTML-safe escaping; NaN/±Inf and unencodable values fail. */
function goMarshal(value: unknown): string {
  const text = goEncode(value, (message, cause) => new GoHostError('marshal', message, { cause }));
  if (text === undefined) throw new GoHostError('marshal', `json: unsupported type: ${typeof value}`);
  return text;
}

/** Decodes the first JSON value of an answer, as Go's json.Decoder does. */
function goDecode(text: string): unknown {
  return goDecodeFirst(text, (message, cause) => new GoHostError('decode', message, { cause }));
}

// ---------------------------------------------------------------------------
// Process handling

/** Splits a stream into lines the way Go's bufio.ScanLines does. */
function scanLines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  const emit = (line: string): void => onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      emit(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffer.length > 0) emit(buffer);
    buffer = '';
  });
  stream.on('error', () => undefined);
}

function removeStaleSocket(socket: string): void {
  try {
    fs.unlinkSync(socket);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function describeSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} seconds` : `${ms} ms`;
}

class GoHostPluginImpl implements GoHostPlugin {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<GoExit>;
  private readonly client: Client;
  private readonly lineListeners = new Set<(line: string) => void>();
  private closed = false;
  private exitInfo: GoExit | undefined;
  private spawnError: Error | undefined;
  private terminating: Promise<void> | undefined;

  constructor(
    readonly process: ChildProcess,
    readonly socket: string,
  ) {
    this.exited = new Promise<GoExit>((resolve) => {
      process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.closed = true;
        this.exitInfo = this.exitInfo ?? { code, signal };
        resolve(this.exitInfo);
      });
    });
    process.once('exit', (code, signal) => {
      this.exitInfo = { code, signal };
    });
    process.on('error', (err) => {
      this.spawnError = this.spawnError ?? err;
    });
    if (process.stdout) {
      scanLines(process.stdout, (line) => {
        this.stdout.push(line);
        for (const listener of this.lineListeners) listener(line);
      });
    }
    if (process.stderr) scanLines(process.stderr, (line) => this.stderr.push(line));
    this.client = new Client('http://plugin', {
      socketPath: socket,
      // The Go transport has no idle timeout and does not read Keep-Alive hints.
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 30_000,
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /** Waits for the ready line like the Go host's startPlugin. */
  waitReady(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        this.process.off('exit', onExit);
        this.process.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onLine = (line: string): void => {
        if (line === READY_LINE) finish();
        else if (line === FAILED_LINE) finish(new GoHostError('start', 'plugin failed to start: failed to listen on socket'));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        finish(new GoHostError('start', `plugin failed to start: process exited (code ${String(code)}, signal ${String(signal)})`));
      };
      const onError = (err: Error): void => {
        finish(new GoHostError('start', `plugin failed to start: ${err.message}`, { cause: err }));
      };
      const timer = setTimeout(() => {
        finish(new GoHostError('start', `could not start plugin within ${describeSeconds(timeoutMs)}`));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      this.process.on('exit', onExit);
      this.process.on('error', onError);
      // Events that happened before we listened.
      for (const line of this.stdout) onLine(line);
      if (this.spawnError) onError(this.spawnError);
      else if (this.exitInfo) onExit(this.exitInfo.code, this.exitInfo.signal);
    });
  }

  async call(method: string, payload: unknown, opts: GoCallOptions = {}): Promise<GoCallResult> {
    if (!method.startsWith('/')) throw new TypeError(`go-host: method must start with "/": ${method}`);
    const url = `http://plugin${method}`;
    const { deadline = null, zoneOffsetMinutes = 0, timeoutMs = DEFAULT_CALL_TIMEOUT_MS } = opts;
    const deadlineText = deadline === null ? null : typeof deadline === 'string' ? deadline : formatGoTime(deadline, zoneOffsetMinutes);
    const body = Buffer.from(
      `{"Context":{"Deadline":${deadlineText === null ? 'null' : goMarshal(deadlineText)}},"Payload":${goMarshal(payload === undefined ? null : payload)}}`,
      'utf8',
    );

    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          reject(new GoHostError('timeout', `Post "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`));
          abort.abort();
        }, timeoutMs);
      }
    });
    try {
      return await Promise.race([this.exchange(method, url, body, abort.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async exchange(method: string, url: string, body: Buffer, signal: AbortSignal): Promise<GoCallResult> {
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let raw: Buffer;
    try {
      const res = await this.client.request({
        path: method,
        method: 'POST',
        headers: {
          Host: 'plugin',
          'User-Agent': 'Go-http-client/1.1',
          'Content-Length': String(body.length),
          'Content-Type': 'application/json',
          'Accept-Encoding': 'gzip',
        },
        body,
        signal,
      });
      status = res.statusCode;
      headers = res.headers;
      raw = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      if (err instanceof GoHostError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new GoHostError('transport', `Post "${url}": ${message}`, { cause: err });
    }

    const encoding = headers['content-encoding'];
    if (typeof encoding === 'string' && encoding.toLowerCase() === 'gzip') {
      try {
        raw = await gunzipAsync(raw);
      } catch (err) {
        throw new GoHostError('decode', `gzip: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    const rawBody = raw.toString('utf8');
    const result: GoCallResult = { status, headers, rawBody, ok: status === 200 };
    if (result.ok) {
      result.value = goDecode(rawBody);
    } else {
      const decoded = goDecode(rawBody);
      if (decoded === null) result.error = '';
      else if (typeof decoded === 'string') result.error = decoded;
      else throw new GoHostError('decode', `json: cannot unmarshal ${goKind(decoded)} into Go value of type string`);
    }
    return result;
  }

  term(): Promise<void> {
    this.terminating = this.terminating ?? this.terminate();
    return this.terminating;
  }

  private async terminate(): Promise<void> {
    if (!this.closed) {
      let killTimer: NodeJS.Timeout | undefined;
      if (this.process.pid !== undefined && this.process.exitCode === null && this.process.signalCode === null) {
        this.process.kill('SIGTERM');
        killTimer = setTimeout(() => {
          if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
        }, KILL_AFTER_MS);
      }
      try {
        await this.exited;
      } finally {
        clearTimeout(killTimer);
      }
    }
    await this.client.destroy();
  }
}

/**
 * Starts `command args` as the Go host does and resolves once it printed
 * `plugin is ready`. Rejects (with a GoHostError of kind 'start', after the
 * process has been terminated and its stdio closed) when it prints
 * `failed to listen on socket`, exits first, cannot be spawned, or is not
 * ready within startTimeoutMs.
 */
export async function goStart(command: string, args: string[], socket: string, options: GoStartOptions = {}): Promise<GoHostPlugin> {
  removeStaleSocket(socket);
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env, PLUGIN_SOCKET: socket },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const plugin = new GoHostPluginImpl(child, socket);
  try {
    await plugin.waitReady(options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  } catch (err) {
    await plugin.term();
    if (err instanceof GoHostError) {
      err.stdout = plugin.stdout;
      err.stderr = plugin.stderr;
      err.exit = await plugin.exited;
    }
    throw err;
  }
  return plugin;
}
