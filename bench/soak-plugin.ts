// The plugin process of the soak run (bench/soak.ts). Environment:
//   SOAK_SPAWN_LOG   append this process's pid to that file at each start
//   SOAK_CHARGE_LOG  append the id of every /charge call that runs to that file
//   SOAK_HOST_LOG    append the path of the host services' socket to that file at each
//                    start (so that the soak can check it is gone after close())
//   SOAK_WEDGE_LOG   append "<pid> <epoch ms>" to that file when /wedge wedges this process
import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { callContext, HOST_SOCKET_ENV, hostProxy, RemoteError, serve } from '../lib';
import { SOAK_SERVER_MAX_IN_FLIGHT, Soak, SoakHost, chargeOf, combined, lineOf, receiptOf, slowAnswer, type SoakCharge, type SoakOrder, type SoakReceipt } from './soak-contract';

const spawnLog = process.env['SOAK_SPAWN_LOG'];
const chargeLog = process.env['SOAK_CHARGE_LOG'];
const hostLog = process.env['SOAK_HOST_LOG'];
const wedgeLog = process.env['SOAK_WEDGE_LOG'];
if (spawnLog) appendFileSync(spawnLog, `${process.pid}\n`);
// Read before hostProxy() reads (and removes) it at the first host call.
if (hostLog) appendFileSync(hostLog, `${process.env[HOST_SOCKET_ENV] ?? ''}\n`);

const host = hostProxy(SoakHost);
/** Stream iterators under way in this process: the plugin's own and the host's it reads. */
let active = 0;

class SoakPlugin extends Soak {
  override async echo(data: string): Promise<string> {
    return data;
  }

  override async register(order: SoakOrder): Promise<SoakReceipt> {
    return receiptOf(order);
  }

  override async combine(label: string, a: number, b: number, upper: boolean): Promise<string> {
    return combined(label, a, b, upper);
  }

  override async slow(ms: number, tag: string): Promise<string> {
    await delay(ms, undefined, { signal: callContext().signal });
    return slowAnswer(ms, tag);
  }

  override async charge(id: string, amount: number): Promise<SoakCharge> {
    if (chargeLog) appendFileSync(chargeLog, `${id}\n`);
    return chargeOf(id, amount);
  }

  override async *lines(id: string, count: number, everyMs: number): AsyncGenerator<string> {
    const { signal } = callContext();
    active++;
    try {
      for (let n = 1; n <= count; n++) {
        if (everyMs > 0) await delay(everyMs, undefined, { signal });
        yield lineOf(id, n);
      }
    } finally {
      active--;
    }
  }

  override async viaHost(id: string, fail: boolean): Promise<string> {
    try {
      return `via:${await (fail ? host.fail(id) : host.echo(id))}`;
    } catch (error) {
      // The host's own error, as the plugin sees it: PLUGWIRE_REMOTE with the service's code.
      if (!(error instanceof RemoteError) || error.remote.code === undefined) throw error;
      return `failed:${error.remote.code}`;
    }
  }

  override async reenter(id: string, depth: number): Promise<string> {
    if (depth <= 0) return `leaf:${id}`;
    return `plugin(${await host.callback(id, depth)})`;
  }

  override async hostStream(id: string, count: number, stopAt: number): Promise<string> {
    const read: number[] = [];
    active++;
    try {
      for await (const n of host.ticks(id, count)) {
        read.push(n);
        if (stopAt > 0 && read.length >= stopAt) break;
      }
    } finally {
      active--;
    }
    return read.join(',');
  }

  override async activeIterators(): Promise<number> {
    return active;
  }

  override async wedge(): Promise<string> {
    // Written before the loop, synchronously: the soak times the replacement from here.
    if (wedgeLog) appendFileSync(wedgeLog, `${process.pid} ${Date.now()}\n`);
    // A bug in user code as it looks from outside: the process lives, its event loop never
    // turns again (no answer, no health probe, no SIGTERM handler), until SIGKILL.
    for (;;) {
      // spin
    }
  }

  override async pid(): Promise<number> {
    return process.pid;
  }
}


serve(new SoakPlugin(), { maxInFlight: SOAK_SERVER_MAX_IN_FLIGHT }).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
