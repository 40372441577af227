import type { Dispatcher, Pool } from 'undici';
import { REENTRANT_HEADER } from '../protocol/constants';
import { undici } from '../util/lazy';
import type { PluginConfig } from './config';

/** The mark of a call back (see ClientInit.reentrant). */
const REENTRANT: Readonly<Record<string, string>> = Object.freeze({ [REENTRANT_HEADER]: '1' });

/**
 * The connections of a client to its plugin: `connections` of them for calls; one per
 * stream, made at the first (a stream holds one for as long as it runs, without taking
 * one of `connections`, and `maxResponseSize` bounds a frame, not the whole body as
 * undici's limit would); and, made at the first, unbounded ones for calls back from a host
 * service, marked so that the plugin's host calls meanwhile do not wait either.
 * @internal
 */
export class ClientPools {
  private readonly calls: Pool;
  private streams: Pool | undefined;
  private reentrant: Pool | undefined;

  constructor(
    private readonly socket: string,
    private readonly config: PluginConfig,
  ) {
    this.calls = this.make(config.connections, config.maxResponseSize);
  }

  /** Sends a call's request. */
  call(route: string, body: string, headers: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> | undefined, handler: Dispatcher.DispatchHandler, callBack: boolean): void {
    if (callBack) {
      this.reentrant ??= this.make(null, this.config.maxResponseSize);
      this.reentrant.dispatch({ path: route, method: 'POST', headers: { ...extra, ...headers, ...REENTRANT }, body }, handler);
      return;
    }
    this.calls.dispatch({ path: route, method: 'POST', headers: extra ? { ...extra, ...headers } : headers, body }, handler);
  }

  /** Sends a stream's request. */
  stream(route: string, body: string, headers: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> | undefined, handler: Dispatcher.DispatchHandler, callBack: boolean): void {
    this.streams ??= this.make(null, -1);
    this.streams.dispatch({ path: route, method: 'POST', headers: callBack ? { ...extra, ...headers, ...REENTRANT } : { ...extra, ...headers }, body }, handler);
  }

  /** Closes every connection. Never rejects. */
  async destroy(): Promise<void> {
    const pools = [this.calls, this.streams, this.reentrant].filter((pool): pool is Pool => pool !== undefined);
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }

  private make(connections: number | null, maxResponseSize: number): Pool {
    const { config } = this;
    // undici is loaded by the first client, not by the package root: a plugin process never needs it.
    const { Pool: UndiciPool } = undici();
    return new UndiciPool('http://plugin', {
      socketPath: this.socket,
      connections,
      connectTimeout: config.connectTimeout,
      keepAliveTimeout: config.keepAliveTimeout,
      keepAliveMaxTimeout: config.keepAliveTimeout,
      maxResponseSize,
      // The client enforces the whole-call timeout itself, restarts included.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }
}
