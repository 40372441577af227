import { Injectable } from '@nestjs/common';
import type { PluginStatus } from './plugwire.interfaces';
import { PlugwireRegistry } from './plugwire.registry';

/** A terminus health indicator result: `{ [key]: { status, ...details } }`. */
export type PlugwireHealthResult<Key extends string = string> = Record<
  Key,
  {
    /** `up` when every plugin is healthy ({@link PluginStatus.healthy}), else `down`. */
    status: 'up' | 'down';
    /** Each plugin's state, pid, restarts and start error, keyed as in {@link PlugwireRegistry.statuses}. */
    plugins: Record<string, Pick<PluginStatus, 'state' | 'pid' | 'restarts' | 'error'>>;
  }
>;

/**
 * A health indicator for @nestjs/terminus reporting the state of each plugin of the
 * application, those of every PlugwireModule it imports (keyed as in
 * {@link PlugwireRegistry.statuses}; a key two modules share gets `#2` for the second's
 * plugin, in the order of the modules). `up` when every
 * plugin runs or comes back at its next call (`exited` with restarts on; a lazy plugin
 * not started yet is `idle`); `down` when one is `unavailable` (given up on after
 * repeated restarts), `exited` with restarts off, `failed` (its start failed) or `closed`.
 * It returns the down result rather than throwing, as terminus 11's HealthIndicatorService
 * does, and does not import terminus: the module works without it.
 *
 * @example
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.plugins.isHealthy('plugins')]); }
 * ```
 */
@Injectable()
export class PlugwireHealthIndicator {
  constructor(private readonly registry: PlugwireRegistry) {}

  /**
   * The plugins' health, for `HealthCheckService.check()`.
   *
   * @param key - the key of the result in terminus's answer; default `plugins`
   * @returns `{ [key]: { status: 'up' | 'down', plugins } }`; it resolves with `down`
   *   rather than rejecting
   */
  isHealthy<Key extends string = 'plugins'>(key: Key = 'plugins' as Key): Promise<PlugwireHealthResult<Key>> {
    const plugins: Record<string, Pick<PluginStatus, 'state' | 'pid' | 'restarts' | 'error'>> = {};
    let up = true;
    for (const [id, s] of Object.entries(this.registry.applicationStatuses())) {
      plugins[id] = { state: s.state, restarts: s.restarts, ...(s.pid === undefined ? {} : { pid: s.pid }), ...(s.error === undefined ? {} : { error: s.error }) };
      if (!s.healthy) up = false;
    }
    return Promise.resolve({ [key]: { status: up ? 'up' : 'down', plugins } } as PlugwireHealthResult<Key>);
  }
}
