// The contracts of the soak run (bench/soak.ts) and its plugin (bench/soak-plugin.ts): the
// plugin's, and the host services the plugin calls.
// Every answer is a pure function of the call's input, written out here once: the
// plugin answers with these functions, the soak checks every answer against them.
import { createHash } from 'node:crypto';
import { ArrayMaxSize, IsArray, IsInt, IsString, Length, Max, Min } from 'class-validator';
import { Method, Plugin, stub } from '../lib';

/** A validated DTO: checked on the host before sending, and in the plugin before the method runs. */
export class SoakOrder {
  @IsString()
  @Length(1, 64)
  id!: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  quantity!: number;

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  unitPrice!: number;

  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  tags!: string[];
}

/** The answer of `/register`; the host receives a real instance. */
export class SoakReceipt {
  @IsString()
  id!: string;

  @IsInt()
  total!: number;

  @IsString()
  tags!: string;
}

/** The answer of `/charge`. */
export interface SoakCharge {
  readonly id: string;
  readonly doubled: number;
  readonly digest: string;
}

@Plugin('soak')
export class Soak {
  /** Returns its argument unchanged (the soak sends 100 B to ~256 KB). */
  @Method('/echo')
  echo(data: string): Promise<string> {
    return stub(data);
  }

  /** A validated DTO in, a class out: {@link receiptOf}. */
  @Method('/register', { returns: SoakReceipt })
  register(order: SoakOrder): Promise<SoakReceipt> {
    return stub(order);
  }

  /** Several parameters, sent as a JSON array: {@link combined}. */
  @Method('/combine')
  combine(label: string, a: number, b: number, upper: boolean): Promise<string> {
    return stub(label, a, b, upper);
  }

  /** Waits `ms` (giving up when the call's signal fires), then answers {@link slowAnswer}. */
  @Method('/slow')
  slow(ms: number, tag: string): Promise<string> {
    return stub(ms, tag);
  }

  /** Must not run twice for one call: the plugin logs each run. Answers {@link chargeOf}. */
  @Method('/charge', { idempotent: false })
  charge(id: string, amount: number): Promise<SoakCharge> {
    return stub(id, amount);
  }

  /** A stream of `count` items {@link lineOf}, one every `everyMs` (0: as fast as pulled). */
  @Method('/lines', { stream: true })
  lines(id: string, count: number, everyMs: number): AsyncIterable<string> {
    return stub(id, count, everyMs);
  }

  /**
   * Calls the host service {@link SoakHost.echo} (or {@link SoakHost.fail} when `fail`) and
   * answers {@link viaHost}: a host call made while a plugin method serves a call.
   */
  @Method('/via-host')
  viaHost(id: string, fail: boolean): Promise<string> {
    return stub(id, fail);
  }

  /** Re-entrant: calls the host's `/callback`, which calls this method again, `depth` deep: {@link reentered}. */
  @Method('/reenter')
  reenter(id: string, depth: number): Promise<string> {
    return stub(id, depth);
  }

  /** Reads the host's `/ticks` stream of `count` items, stopping after `stopAt` (when above 0): {@link ticksRead}. */
  @Method('/host-stream')
  hostStream(id: string, count: number, stopAt: number): Promise<string> {
    return stub(id, count, stopAt);
  }

  /** Stream iterators of this process not yet past their finally (`/lines` and the host streams it reads). */
  @Method('/active-iterators')
  activeIterators(): Promise<number> {
    return stub();
  }

  /**
   * Never answers: the plugin notes its pid and enters a busy loop, its event loop blocked
   * for good while the process lives on (a wedge, for the client's liveness check to find).
   * Not idempotent: a call lost with the wedged process is not sent again to wedge the next.
   */
  @Method('/wedge', { idempotent: false })
  wedge(id: string): Promise<string> {
    return stub(id);
  }

  /** The plugin process's pid: which process answers. */
  @Method('/pid')
  pid(): Promise<number> {
    return stub();
  }
}

/**
 * The soak plugin's `serve({ maxInFlight })`, below the default 1000 so that the raw flood
 * passes it with one request per connection, under the server's maxConnections (1024);
 * far above what the soak's own client has there at once (32 connections for calls, one
 * per stream under way).
 */
export const SOAK_SERVER_MAX_IN_FLIGHT = 200;

/** The host services the soak's plugin calls (bench/soak.ts implements them). */
@Plugin('soak-host')
export class SoakHost {
  /** Answers {@link hostEcho}. */
  @Method('/echo')
  echo(id: string): Promise<string> {
    return stub(id);
  }

  /** Throws an error with code {@link HOST_FAILURE_CODE}. */
  @Method('/fail')
  fail(id: string): Promise<string> {
    return stub(id);
  }

  /** Calls the plugin's `/reenter` one level less deep, and answers `host(<its answer>)`. */
  @Method('/callback')
  callback(id: string, depth: number): Promise<string> {
    return stub(id, depth);
  }

  /** `count` numbers from 1, with a pause between them so that a reader's stop comes mid-way. */
  @Method('/ticks', { stream: true })
  ticks(id: string, count: number): AsyncIterable<number> {
    return stub(id, count);
  }
}

/** The code of the error {@link SoakHost.fail} throws. */
export const HOST_FAILURE_CODE = 'E_SOAK_HOST';

/** Item `n` (from 1) of `/lines`. */
export function lineOf(id: string, n: number): string {
  return `${id}#${n}`;
}

/** What `/echo` of the host answers. */
export function hostEcho(id: string): string {
  return `host:${id}`;
}

/** What `/via-host` answers: the host's answer, or the code of the host's error as the plugin saw it. */
export function viaHost(id: string, fail: boolean): string {
  return fail ? `failed:${HOST_FAILURE_CODE}` : `via:${hostEcho(id)}`;
}

/** What `/reenter` answers at `depth`: `plugin(host(` d times, `leaf:<id>`, `))` d times. */
export function reentered(id: string, depth: number): string {
  return depth <= 0 ? `leaf:${id}` : `plugin(host(${reentered(id, depth - 1)}))`;
}

/** What `/host-stream` answers: the numbers read, joined with commas. */
export function ticksRead(count: number, stopAt: number): string {
  const read = stopAt > 0 ? Math.min(stopAt, count) : count;
  return Array.from({ length: read }, (_, i) => i + 1).join(',');
}

/** What `/register` answers for an order. */
export function receiptOf(order: SoakOrder): SoakReceipt {
  const receipt = new SoakReceipt();
  receipt.id = order.id;
  receipt.total = order.quantity * order.unitPrice;
  receipt.tags = order.tags.join(',');
  return receipt;
}

/** What `/combine` answers. */
export function combined(label: string, a: number, b: number, upper: boolean): string {
  return `${upper ? label.toUpperCase() : label}:${a + b}:${a * b}`;
}

/** What `/slow` answers. */
export function slowAnswer(ms: number, tag: string): string {
  return `slow:${tag}:${ms}`;
}

/** What `/charge` answers. */
export function chargeOf(id: string, amount: number): SoakCharge {
  return { id, doubled: amount * 2, digest: createHash('sha256').update(`${id}:${amount}`).digest('hex').slice(0, 16) };
}
