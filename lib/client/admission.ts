import { OverloadedError } from '../errors/plugin-error';
import { LinkedList } from '../util/linked-list';
import type { Call } from './call';
import type { PluginConfig } from './config';
import type { PluginLoad } from './plugin-state';

/**
 * The calls of a client and how many go to the plugin at once: `maxInFlight` of them hold
 * a place (sent, or waiting for a restart), `maxQueued` more wait behind them in order,
 * and a client whose queue is full refuses the next call at once. A call back from a host
 * service takes no place and never waits: the plugin's calls that wait on that service
 * may hold every place. The queue is what keeps a host that sends more than its plugin
 * can take within bounded memory; undici would queue without bound.
 * @internal
 */
export class Admission {
  /** Every call not yet settled, queued ones included: what close() aborts. */
  readonly calls = new LinkedList<Call>();
  /** The calls waiting for a place, oldest first out. */
  private readonly queue = new LinkedList<Call>();
  /** The calls holding a place. */
  private admitted = 0;
  /** Set by close(): no queued call is sent any more. */
  private stopped = false;
  /** Waiting for no request to be out (a graceful recycle). */
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly config: Pick<PluginConfig, 'maxInFlight' | 'maxQueued'>,
    /** Sends a call given a place. */
    private readonly send: (call: Call) => void,
  ) {}

  /** What holds a place and what waits, for `client.load`. */
  get load(): PluginLoad {
    return { inFlight: this.admitted, queued: this.queue.size };
  }

  /**
   * The error of a call (not a call back) made while every place is taken and the queue is
   * full; `undefined` when it may enter.
   */
  refusal(route: string, plugin: string): OverloadedError | undefined {
    const { maxInFlight, maxQueued } = this.config;
    if (this.admitted < maxInFlight || this.queue.size < maxQueued) return undefined;
    return new OverloadedError(`call to ${route} refused: ${maxInFlight} calls to plugin ${plugin} are in flight and ${maxQueued} wait (maxInFlight, maxQueued)`, { route });
  }

  /** Takes a new call: sends it if a place is free (or it is a call back), else queues it. Ask {@link refusal} first. */
  enter(call: Call): void {
    this.calls.add(call.inflightLink);
    if (call.callBack || this.admitted < this.config.maxInFlight) this.admit(call);
    else this.queue.add(call.queueLink);
  }

  /** A call settled: its place goes to the call that waited longest. */
  settled(call: Call): void {
    this.calls.delete(call.inflightLink);
    if (call.admitted) {
      this.admitted--;
      this.admitNext();
    } else {
      this.queue.delete(call.queueLink);
    }
  }

  /** A request of a call ended (the call settles, or waits for a restart): a drain may be over. */
  changed(): void {
    if (this.drainWaiters.length === 0 || this.calls.values().some((call) => call.current !== undefined)) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no request of a call is out to the plugin (the calls waiting for a start do not count). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.changed();
    });
  }

  /** From now on no queued call is sent: close() aborts them all. */
  stop(): void {
    this.stopped = true;
  }

  private admit(call: Call): void {
    if (!call.callBack) {
      call.admitted = true;
      this.admitted++;
    }
    this.send(call);
  }

  private admitNext(): void {
    if (this.stopped) return;
    while (this.admitted < this.config.maxInFlight) {
      const next = this.queue.shift();
      if (!next) return;
      this.admit(next);
    }
  }
}
