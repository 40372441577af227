/**
 * The NestJS testing modules a spec opens, and the plugin processes they start: compiled
 * and initialised with a silent logger, then closed after each test, even when an
 * assertion failed, with any plugin process a test saw killed and waited for.
 */
import type { LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule, type TestingModuleOptions } from '@nestjs/testing';
import { PlugwireRegistry } from '../../lib/nest';
import { pidAlive, waitForPidGone } from './host-helpers';

/** A Nest logger that says nothing. */
export const silent: LoggerService = { log: () => undefined, error: () => undefined, warn: () => undefined };

export interface NestModules {
  /** Everything a test opened (testing modules, applications), closed by cleanup(). */
  readonly opened: Array<{ close(): Promise<unknown> }>;
  /** Every plugin pid a test saw, killed by cleanup() if still alive. */
  readonly seenPids: Set<number>;
  /** Compiles and initialises a testing module (plugins start at init), and notes the pids of its plugins. */
  compile(metadata: ModuleMetadata, options?: TestingModuleOptions): Promise<TestingModule>;
  /** Closes what was opened, newest first, and kills the plugin processes left. For afterEach. */
  cleanup(): Promise<void>;
}

export function nestModules(): NestModules {
  const opened: Array<{ close(): Promise<unknown> }> = [];
  const seenPids = new Set<number>();
  return {
    opened,
    seenPids,
    async compile(metadata, options) {
      const moduleRef = await Test.createTestingModule(metadata, options).setLogger(silent).compile();
      moduleRef.useLogger(false);
      opened.push(moduleRef);
      await moduleRef.init();
      let registry: PlugwireRegistry | undefined;
      try {
        registry = moduleRef.get(PlugwireRegistry, { strict: false });
      } catch {
        // a module without PlugwireModule.register() (a plugin's, with forHost() alone)
      }
      for (const status of Object.values(registry?.applicationStatuses() ?? {})) if (status.pid !== undefined) seenPids.add(status.pid);
      return moduleRef;
    },
    async cleanup() {
      for (const closable of opened.splice(0).reverse()) await closable.close().catch(() => undefined);
      for (const pid of seenPids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      await Promise.all([...seenPids].map((pid) => waitForPidGone(pid)));
      seenPids.clear();
    },
  };
}
