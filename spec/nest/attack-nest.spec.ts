// PlugwireModule against set-ups it once got wrong, with real plugin processes: a
// configuration a settings provider hands over as strings or with a mistake in it.
import * as path from 'node:path';
import { Injectable, Module, type LoggerService, type ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PlugwireModule, PlugwireRegistry } from '../../lib/nest';
import { Modifier } from '../../samples/modifier/contract';
import { pidAlive, rejectionOf, waitForPidGone } from '../support/host-helpers';

/** The plain sample plugin: quick to start. */
const PLAIN_PLUGIN = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

const silent: LoggerService = { log: () => undefined, error: () => undefined, warn: () => undefined };
const opened: TestingModule[] = [];
const seenPids = new Set<number>();

/** Compiles and initialises a testing module (plugins start at init); closed in afterEach even when init failed. */
async function compile(metadata: ModuleMetadata): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(silent).compile();
  moduleRef.useLogger(false);
  opened.push(moduleRef);
  await moduleRef.init();
  for (const status of moduleRef.get(PlugwireRegistry).list()) if (status.pid !== undefined) seenPids.add(status.pid);
  return moduleRef;
}

afterEach(async () => {
  for (const moduleRef of opened.splice(0).reverse()) await moduleRef.close().catch(() => undefined);
  for (const pid of seenPids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all([...seenPids].map((pid) => waitForPidGone(pid)));
  seenPids.clear();
});

/** Settings as a configuration service hands them out: strings, or nothing for what is unset. */
@Injectable()
class Settings {
  values: Record<string, string | undefined> = {};
}

function settingsModule(values: Record<string, string | undefined>): ModuleMetadata {
  @Module({ providers: [{ provide: Settings, useValue: Object.assign(new Settings(), { values }) }], exports: [Settings] })
  class SettingsModule {}
  return {
    imports: [
      PlugwireModule.registerAsync({
        imports: [SettingsModule],
        inject: [Settings],
        contracts: [Modifier],
        useFactory: (settings: Settings) => ({
          plugins: [
            {
              contract: Modifier,
              command: process.execPath,
              args: [PLAIN_PLUGIN],
              logger: false,
              config: { timeout: settings.values['timeout'], connections: settings.values['connections'] } as unknown as { timeout: number },
            },
          ],
        }),
      }),
    ],
  };
}

describe('PlugwireModule configuration from a settings provider', () => {
  it('takes strings of digits as numbers and unset values as the defaults', async () => {
    const moduleRef = await compile(settingsModule({ timeout: '5000', connections: undefined }));
    const client = moduleRef.get(PlugwireRegistry).client(Modifier);
    expect(client?.config).toMatchObject({ timeout: 5000, connections: 32 });
    await expect(moduleRef.get(Modifier).modify('x')).resolves.toBe('x decorated');
  });

  it('fails the start with the configuration TypeError, not as a plugin that could not start', async () => {
    const error = await rejectionOf(compile(settingsModule({ timeout: '5 s' })));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('plugwire config: timeout must be a number of ms from 0 to 2147483647, got the string "5 s"');
  });
});
