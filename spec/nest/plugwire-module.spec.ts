// PlugwireModule in a Nest application: injection of plugin proxies, registerAsync, the
// lifecycle (start at init, termination at close, start failures, optional and lazy
// plugins) and the health indicator, all with real plugin processes.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Controller, Get, Injectable, Module, type INestApplication, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { DefinitionError, Method, Plugin, PluginError, StartError, startWithCommand, stub, type Remote } from '../../lib';
import { InjectPlugin, PlugwireHealthIndicator, PlugwireModule, PlugwireRegistry, getPluginToken } from '../../lib/nest';
import { Greeting, Modifier } from '../../samples/modifier/contract';
import { countLines, fixture, pidAlive, rejectionOf, removeDir, spawnNode, tempDir, waitFor, waitForPidGone, httpGet } from '../support/host-helpers';
import { nestModules, silent } from '../support/nest-modules';

/** The sample plugin written as a Nest application context. */
const NEST_PLUGIN = path.join(__dirname, '../../dist/samples/nest-plugin/main.js');
/** The plain (non-Nest) sample plugin: same contract, quicker to start. */
const PLAIN_PLUGIN = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
/** The Nest sample module with start-up behaviour set through the environment. */
const FIXTURE = fixture('nest/nest-plugin');

const modules = nestModules();
const { compile, opened, seenPids } = modules;
let dir: string | undefined;

/** The pids of the running plugins of a module, remembered for the cleanup. */
function pidsOf(registry: PlugwireRegistry): number[] {
  const pids = registry.list().map((s) => s.pid).filter((pid): pid is number => pid !== undefined);
  for (const pid of pids) seenPids.add(pid);
  return pids;
}

/** The pids a fixture wrote to its counter file, remembered for the cleanup. */
function counterPids(file: string): number[] {
  const pids = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number) : [];
  for (const pid of pids) seenPids.add(pid);
  return pids;
}


beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await modules.cleanup();
  removeDir(dir);
  dir = undefined;
});

@Injectable()
class ByClass {
  constructor(readonly modifier: Modifier) {}
}

@Injectable()
class ByDecorator {
  constructor(
    @InjectPlugin(Modifier) readonly first: Remote<Modifier>,
    @InjectPlugin(Modifier, 'second') readonly second: Remote<Modifier>,
  ) {}
}

describe('PlugwireModule.register(): injection', () => {
  let moduleRef: TestingModule;
  let registry: PlugwireRegistry;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        PlugwireModule.register({
          plugins: [
            { contract: Modifier, command: process.execPath, args: [NEST_PLUGIN], logger: false, config: { timeout: 5000 } },
            {
              contract: Modifier,
              name: 'second',
              starter: startWithCommand(process.execPath, [FIXTURE], { env: { NEST_FIXTURE_SUFFIX: ' from second' }, logger: false }),
            },
          ],
        }),
      ],
      providers: [ByClass, ByDecorator],
    })
      .setLogger(silent)
      .compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    registry = moduleRef.get(PlugwireRegistry);
  });

  afterAll(async () => {
    const pids = registry ? registry.list().flatMap((s) => (s.pid === undefined ? [] : [s.pid])) : [];
    await moduleRef?.close();
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
  });

  it('injects a working proxy by the contract class', async () => {
    const { modifier } = moduleRef.get(ByClass);
    await expect(modifier.modify('x')).resolves.toBe('x decorated');
    const greeting = await modifier.greet({ name: 'Ada', age: 36 });
    expect(greeting).toBeInstanceOf(Greeting);
    expect(greeting.shout()).toBe('HELLO ADA');
    await expect(modifier.join(['a', 'b'], '-', 2)).resolves.toBe('a-b-a-b');
  });

  it('gives the same proxy for the class token and @InjectPlugin(contract)', () => {
    const { modifier } = moduleRef.get(ByClass);
    expect(moduleRef.get(ByDecorator).first).toBe(modifier);
    expect(moduleRef.get(Modifier)).toBe(modifier);
  });

  it('injects the named plugin with @InjectPlugin(contract, name), answering from its own process', async () => {
    const { first, second } = moduleRef.get(ByDecorator);
    expect(second).not.toBe(first);
    expect(moduleRef.get(getPluginToken(Modifier, 'second'))).toBe(second);
    await expect(second.modify('y')).resolves.toBe('y from second');
    await expect(first.modify('y')).resolves.toBe('y decorated');

    const firstPid = registry.client(Modifier)?.pid;
    const secondPid = registry.client(Modifier, 'second')?.pid;
    expect(firstPid).toEqual(expect.any(Number));
    expect(secondPid).toEqual(expect.any(Number));
    expect(secondPid).not.toBe(firstPid);
    expect(pidAlive(firstPid!)).toBe(true);
    expect(pidAlive(secondPid!)).toBe(true);
  });

  it('lists both plugins with their states and pids', () => {
    const firstPid = registry.client(Modifier)!.pid;
    const secondPid = registry.client(Modifier, 'second')!.pid;
    expect(registry.list()).toEqual([
      { contract: 'Modifier', state: 'running', pid: firstPid, restarts: 0, instances: [{ index: 0, state: 'running', pid: firstPid, restarts: 0 }], lazy: false, optional: false, healthy: true },
      { contract: 'Modifier', name: 'second', state: 'running', pid: secondPid, restarts: 0, instances: [{ index: 0, state: 'running', pid: secondPid, restarts: 0 }], lazy: false, optional: false, healthy: true },
    ]);
    const statuses = registry.statuses();
    expect(Object.keys(statuses)).toEqual(['Modifier', 'Modifier:second']);
    expect(statuses['Modifier:second']).toEqual(expect.objectContaining({ name: 'second', pid: secondPid }));
    expect(registry.client(Modifier)!.config.timeout).toBe(5000);
  });

  it('reports up with every plugin running, with details per plugin', async () => {
    const indicator = moduleRef.get(PlugwireHealthIndicator);
    const firstPid = registry.client(Modifier)!.pid;
    const secondPid = registry.client(Modifier, 'second')!.pid;
    await expect(indicator.isHealthy()).resolves.toEqual({
      plugins: {
        status: 'up',
        plugins: {
          Modifier: { state: 'running', pid: firstPid, restarts: 0 },
          'Modifier:second': { state: 'running', pid: secondPid, restarts: 0 },
        },
      },
    });
    const custom = await indicator.isHealthy('plugwire');
    expect(custom.plugwire.status).toBe('up');
  });
});

describe('PlugwireModule.register({ isGlobal })', () => {
  @Injectable()
  class FeatureUser {
    constructor(readonly modifier: Modifier) {}
  }

  // A feature module that does not import PlugwireModule.
  @Module({ providers: [FeatureUser] })
  class FeatureModule {}

  const lazyEntry = { contract: Modifier, command: process.execPath, args: [FIXTURE], lazy: true, logger: false as const };

  it('makes the proxies injectable in modules that do not import it', async () => {
    const moduleRef = await compile({ imports: [PlugwireModule.register({ isGlobal: true, plugins: [lazyEntry] }), FeatureModule] });
    expect(moduleRef.get(FeatureUser, { strict: false }).modifier).toBe(moduleRef.get(Modifier, { strict: false }));
  });

  it('without it, such a module cannot resolve the proxy', async () => {
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [lazyEntry] }), FeatureModule] }));
    expect((error as Error).message).toMatch(/can't resolve dependencies of the FeatureUser/);
  });
});

describe('PlugwireModule.registerAsync()', () => {
  const SETTINGS = Symbol('PLUGIN_SETTINGS');
  interface PluginSettings {
    readonly command: string;
    readonly args: string[];
    readonly timeout: number;
    readonly counter: string;
  }

  function settingsModule(counter: string): Type {
    @Module({
      providers: [{ provide: SETTINGS, useValue: { command: process.execPath, args: [FIXTURE], timeout: 1234, counter } satisfies PluginSettings }],
      exports: [SETTINGS],
    })
    class SettingsModule {}
    return SettingsModule;
  }

  it('builds the entries with a factory that gets providers of the imported modules', async () => {
    const counter = path.join(dir!, 'starts');
    const factory = jest.fn(async (settings: PluginSettings) => ({
      plugins: [
        {
          contract: Modifier,
          command: settings.command,
          args: settings.args,
          env: { NEST_FIXTURE_COUNTER: settings.counter },
          logger: false as const,
          config: { timeout: settings.timeout },
        },
        { contract: Modifier, name: 'second', command: settings.command, args: settings.args, lazy: true, logger: false as const },
      ],
    }));
    const moduleRef = await compile({
      imports: [
        PlugwireModule.registerAsync({
          imports: [settingsModule(counter)],
          inject: [SETTINGS],
          contracts: [Modifier, { contract: Modifier, name: 'second' }],
          useFactory: factory,
        }),
      ],
      providers: [ByClass, ByDecorator],
    });
    expect(factory).toHaveBeenCalledTimes(1);
    const registry = moduleRef.get(PlugwireRegistry);
    pidsOf(registry);
    expect(registry.client(Modifier)!.config.timeout).toBe(1234);
    await expect(moduleRef.get(ByClass).modifier.modify('async')).resolves.toBe('async decorated');
    expect(countLines(counter)).toBe(1);
    expect(counterPids(counter)).toEqual([registry.client(Modifier)!.pid]);
    // The named plugin is provided (lazy here: declared, not started).
    expect(moduleRef.get(ByDecorator).second).toBe(moduleRef.get(getPluginToken(Modifier, 'second')));
    expect(registry.statuses()['Modifier:second']).toEqual(expect.objectContaining({ state: 'idle', lazy: true }));
  });

  it('rejects compile() with PLUGWIRE_DEFINITION when the factory lacks a declared contract, starting nothing', async () => {
    const counter = path.join(dir!, 'starts');
    const error = await rejectionOf(
      compile({
        imports: [
          PlugwireModule.registerAsync({
            imports: [settingsModule(counter)],
            inject: [SETTINGS],
            contracts: [Modifier, { contract: Modifier, name: 'second' }],
            useFactory: (settings: PluginSettings) => ({
              plugins: [{ contract: Modifier, command: settings.command, args: settings.args, env: { NEST_FIXTURE_COUNTER: settings.counter }, logger: false }],
            }),
          }),
        ],
      }),
    );
    expect(error).toBeInstanceOf(DefinitionError);
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toContain("Modifier (named 'second')");
    expect(countLines(counter)).toBe(0);
  });
});

describe('PlugwireModule: shutdown', () => {
  it('moduleRef.close() terminates every plugin process, and the proxies refuse calls afterwards', async () => {
    const moduleRef = await compile({
      imports: [
        PlugwireModule.register({
          plugins: [
            { contract: Modifier, command: process.execPath, args: [FIXTURE], logger: false },
            { contract: Modifier, name: 'second', command: process.execPath, args: [PLAIN_PLUGIN], logger: false },
          ],
        }),
      ],
      providers: [ByDecorator],
    });
    const registry = moduleRef.get(PlugwireRegistry);
    const { first, second } = moduleRef.get(ByDecorator);
    await expect(first.modify('a')).resolves.toBe('a decorated');
    const pids = pidsOf(registry);
    expect(pids).toHaveLength(2);

    await moduleRef.close();

    // close() resolves once the processes are gone: no polling needed.
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    expect(registry.list().map((s) => s.state)).toEqual(['closed', 'closed']);
    const refused = await rejectionOf(second.modify('b'));
    expect(PluginError.is(refused, 'PLUGWIRE_CLOSED')).toBe(true);
  });

  it('app.close() of an INestApplication terminates every plugin process', async () => {
    const moduleRef = await compile({
      imports: [PlugwireModule.register({ plugins: [{ contract: Modifier, command: process.execPath, args: [NEST_PLUGIN], logger: false }] })],
      providers: [ByClass],
    });
    const app = moduleRef.createNestApplication({ logger: false });
    opened.push(app);
    await app.init();
    await expect(app.get(ByClass).modifier.modify('app')).resolves.toBe('app decorated');
    const pids = pidsOf(app.get(PlugwireRegistry));
    expect(pids).toHaveLength(1);

    await app.close();

    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
  });
});

describe('PlugwireModule: a plugin that cannot start', () => {
  it('fails the module\'s init with a StartError naming the contract (once), and terminates the plugin that had started', async () => {
    const counter = path.join(dir!, 'starts');
    const missing = path.join(dir!, 'no-such-plugin');
    const error = await rejectionOf(
      compile({
        imports: [
          PlugwireModule.register({
            plugins: [
              { contract: Modifier, command: missing, logger: false },
              { contract: Modifier, name: 'good', command: process.execPath, args: [FIXTURE], env: { NEST_FIXTURE_COUNTER: counter }, logger: false },
            ],
          }),
        ],
        providers: [ByClass],
      }),
    );
    expect(error).toBeInstanceOf(StartError);
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect((error as Error).message).toMatch(/^plugin Modifier could not be started: /);
    expect((error as Error).message).not.toMatch(/could not be started: .*could not be started/);
    expect((error as Error).message).toContain('ENOENT');
    const [goodPid] = counterPids(counter);
    expect(goodPid).toEqual(expect.any(Number));
    expect(pidAlive(goodPid!)).toBe(false);
  });

  it("names a named plugin: plugin Modifier (named 'x')", async () => {
    const counter = path.join(dir!, 'starts');
    const error = await rejectionOf(
      compile({
        imports: [
          PlugwireModule.register({
            plugins: [
              { contract: Modifier, command: process.execPath, args: [FIXTURE], env: { NEST_FIXTURE_COUNTER: counter }, logger: false },
              { contract: Modifier, name: 'x', command: process.execPath, args: ['-e', 'process.exit(3)'], logger: false },
            ],
          }),
        ],
        providers: [ByClass],
      }),
    );
    expect(error).toBeInstanceOf(StartError);
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect((error as Error).message).toMatch(/^plugin Modifier \(named 'x'\) could not be started: .*code 3/);
    expect((error as StartError).reason).toBe('exited');
    const [goodPid] = counterPids(counter);
    expect(goodPid).toEqual(expect.any(Number));
    expect(pidAlive(goodPid!)).toBe(false);
  });
});

describe('PlugwireModule: an optional plugin', () => {
  it('does not fail the init, shows failed, rejects calls, and starts at the next call once it can', async () => {
    const counter = path.join(dir!, 'starts');
    const marker = path.join(dir!, 'fail');
    writeFileSync(marker, '');
    const moduleRef = await compile({
      imports: [
        PlugwireModule.register({
          plugins: [
            {
              contract: Modifier,
              command: process.execPath,
              args: [FIXTURE],
              env: { NEST_FIXTURE_COUNTER: counter, NEST_FIXTURE_FAIL_MARKER: marker },
              logger: false,
              optional: true,
            },
          ],
        }),
      ],
      providers: [ByClass],
    });
    const registry = moduleRef.get(PlugwireRegistry);
    const indicator = moduleRef.get(PlugwireHealthIndicator);
    const { modifier } = moduleRef.get(ByClass);
    expect(countLines(counter)).toBe(1);
    expect(registry.list()).toEqual([
      { contract: 'Modifier', state: 'failed', restarts: 0, instances: [], lazy: false, optional: true, healthy: false, error: expect.stringMatching(/^plugin Modifier could not be started: /) },
    ]);
    expect(registry.client(Modifier)).toBeUndefined();
    const down = await indicator.isHealthy();
    expect(down.plugins.status).toBe('down');
    expect(down.plugins.plugins['Modifier']).toEqual({ state: 'failed', restarts: 0, error: expect.stringContaining('could not be started') });

    const refused = await rejectionOf(modifier.modify('x'));
    expect(PluginError.is(refused, 'PLUGWIRE_START')).toBe(true);
    expect((refused as Error).message).toMatch(/^plugin Modifier could not be started: /);
    expect(countLines(counter)).toBe(2);
    expect(registry.list()[0]?.state).toBe('failed');

    rmSync(marker);
    await expect(modifier.modify('x')).resolves.toBe('x decorated');
    expect(countLines(counter)).toBe(3);
    const pid = counterPids(counter)[2];
    expect(registry.list()).toEqual([{ contract: 'Modifier', state: 'running', pid, restarts: 0, instances: [{ index: 0, state: 'running', pid, restarts: 0 }], lazy: false, optional: true, healthy: true }]);
    expect(registry.client(Modifier)?.pid).toBe(pid);
    await expect(indicator.isHealthy()).resolves.toEqual({ plugins: { status: 'up', plugins: { Modifier: { state: 'running', pid, restarts: 0 } } } });
  });
});

describe('PlugwireModule: a lazy plugin', () => {
  it('starts no process before the first call; concurrent first calls share one start', async () => {
    const counter = path.join(dir!, 'starts');
    const moduleRef = await compile({
      imports: [
        PlugwireModule.register({
          plugins: [{ contract: Modifier, command: process.execPath, args: [FIXTURE], env: { NEST_FIXTURE_COUNTER: counter }, logger: false, lazy: true }],
        }),
      ],
      providers: [ByClass],
    });
    const registry = moduleRef.get(PlugwireRegistry);
    const indicator = moduleRef.get(PlugwireHealthIndicator);
    const { modifier } = moduleRef.get(ByClass);
    expect(registry.list()).toEqual([{ contract: 'Modifier', state: 'idle', restarts: 0, instances: [], lazy: true, optional: false, healthy: true }]);
    expect(registry.client(Modifier)).toBeUndefined();
    expect(countLines(counter)).toBe(0);
    await expect(indicator.isHealthy()).resolves.toEqual({ plugins: { status: 'up', plugins: { Modifier: { state: 'idle', restarts: 0 } } } });

    const calls = Array.from({ length: 6 }, (_, i) => modifier.modify(`v${i}`));
    expect(registry.list()[0]?.state).toBe('starting');
    expect((await indicator.isHealthy()).plugins.status).toBe('up');
    await expect(Promise.all(calls)).resolves.toEqual(Array.from({ length: 6 }, (_, i) => `v${i} decorated`));

    const pids = counterPids(counter);
    expect(pids).toHaveLength(1);
    expect(registry.list()).toEqual([{ contract: 'Modifier', state: 'running', pid: pids[0], restarts: 0, instances: [{ index: 0, state: 'running', pid: pids[0], restarts: 0 }], lazy: true, optional: false, healthy: true }]);
    await expect(modifier.modify('later')).resolves.toBe('later decorated');
    expect(countLines(counter)).toBe(1);
  });
});

describe('PlugwireHealthIndicator with @nestjs/terminus', () => {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly plugins: PlugwireHealthIndicator,
    ) {}

    @Get()
    @HealthCheck()
    check(): ReturnType<HealthCheckService['check']> {
      return this.health.check([() => this.plugins.isHealthy('plugins')]);
    }
  }

  it('answers 200 while the plugin runs, and 503 with the details once it is gone for good', async () => {
    const moduleRef = await compile({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        PlugwireModule.register({
          plugins: [{ contract: Modifier, command: process.execPath, args: [FIXTURE], logger: false, config: { restart: { maxRestarts: 0 } } }],
        }),
      ],
      controllers: [HealthController],
      providers: [ByClass],
    });
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    opened.push(app);
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
    const registry = app.get(PlugwireRegistry);
    const indicator = app.get(PlugwireHealthIndicator);
    const [pid] = pidsOf(registry);

    const up = await httpGet(port, '/health');
    expect(up.status).toBe(200);
    expect(up.body).toEqual({
      status: 'ok',
      info: { plugins: { status: 'up', plugins: { Modifier: { state: 'running', pid, restarts: 0 } } } },
      error: {},
      details: { plugins: { status: 'up', plugins: { Modifier: { state: 'running', pid, restarts: 0 } } } },
    });

    process.kill(pid!, 'SIGKILL');
    await waitForPidGone(pid!);
    // With restarts off, an exited plugin does not come back: down before any call fails.
    await waitFor(() => registry.list()[0]?.state === 'exited', 3000, "state 'exited'");
    const exited = await indicator.isHealthy();
    expect(exited.plugins.status).toBe('down');
    expect(exited.plugins.plugins['Modifier']).toEqual(expect.objectContaining({ state: 'exited' }));
    const failed = await rejectionOf(app.get(ByClass).modifier.modify('x'));
    expect(PluginError.is(failed, 'PLUGWIRE_UNAVAILABLE')).toBe(true);

    const direct = await indicator.isHealthy();
    expect(direct.plugins.status).toBe('down');
    expect(direct.plugins.plugins['Modifier']).toEqual(expect.objectContaining({ state: 'unavailable' }));

    const down = await httpGet(port, '/health');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      status: 'error',
      info: {},
      error: { plugins: { status: 'down', plugins: { Modifier: expect.objectContaining({ state: 'unavailable', restarts: 0 }) } } },
      details: { plugins: { status: 'down', plugins: { Modifier: expect.objectContaining({ state: 'unavailable', restarts: 0 }) } } },
    });
  });
});

describe('PlugwireModule: plugins start at init, never at compile', () => {
  it('a provider that fails while the application is made leaves no plugin process behind (none was started)', async () => {
    const counter = path.join(dir!, 'starts');
    @Injectable()
    class Broken {
      constructor() {
        throw new Error('broken provider');
      }
    }
    const error = await rejectionOf(
      compile({
        imports: [PlugwireModule.register({ plugins: [{ contract: Modifier, command: process.execPath, args: [FIXTURE], env: { NEST_FIXTURE_COUNTER: counter }, logger: false }] })],
        providers: [Broken],
      }),
    );
    expect((error as Error).message).toContain('broken provider');
    expect(counterPids(counter)).toEqual([]);
  });

  it('a plugin of another PlugwireModule that cannot start fails the init and ends the plugins every PlugwireModule had started (Nest runs no shutdown hook after a failed init)', async () => {
    const counter = path.join(dir!, 'starts');
    const moduleRef = await Test.createTestingModule({
      imports: [
        PlugwireModule.register({ plugins: [{ contract: Modifier, command: process.execPath, args: [FIXTURE], env: { NEST_FIXTURE_COUNTER: counter }, logger: false }] }),
        PlugwireModule.register({ plugins: [{ contract: Modifier, name: 'bad', command: process.execPath, args: ['-e', 'process.exit(3)'], logger: false }] }),
      ],
    })
      .setLogger(silent)
      .compile();
    moduleRef.useLogger(false);
    opened.push(moduleRef);
    const error = await rejectionOf(moduleRef.init());
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect((error as Error).message).toMatch(/^plugin Modifier \(named 'bad'\) could not be started: /);
    const started = counterPids(counter);
    expect(started).toHaveLength(1);
    expect(pidAlive(started[0]!)).toBe(false);
    // Nest's close() after a failed init rethrows the init error.
    await expect(moduleRef.close()).rejects.toBe(error);
  });

  it('after close, the proxy of every kind of plugin (eager, lazy, optional) rejects with PLUGWIRE_CLOSED', async () => {
    const moduleRef = await compile({
      imports: [
        PlugwireModule.register({
          plugins: [
            { contract: Modifier, command: process.execPath, args: [FIXTURE], logger: false },
            { contract: Modifier, name: 'lazy', lazy: true, command: process.execPath, args: [FIXTURE], logger: false },
            { contract: Modifier, name: 'optional', optional: true, command: process.execPath, args: ['-e', 'process.exit(3)'], logger: false },
          ],
        }),
      ],
    });
    const proxies = [undefined, 'lazy', 'optional'].map((name) => moduleRef.get<Remote<Modifier>>(getPluginToken(Modifier, name)));
    await expect(proxies[1]!.modify('x')).resolves.toBe('x decorated');
    pidsOf(moduleRef.get(PlugwireRegistry));
    await moduleRef.close();
    for (const proxy of proxies) {
      const error = await rejectionOf(proxy.modify('late'));
      expect(PluginError.is(error, 'PLUGWIRE_CLOSED')).toBe(true);
    }
  });
});

describe('PlugwireModule: definition errors', () => {
  @Plugin('no-routes')
  class NoRoutes {}

  @Plugin('other')
  class Other {
    @Method('/other')
    other(): Promise<string> {
      return stub();
    }
  }

  const cases: Array<[string, Parameters<typeof PlugwireModule.register>[0], RegExp]> = [
    ['neither a command nor a starter', { plugins: [{ contract: Other }] }, /plugin Other: give a command or a starter/],
    [
      'both a command and a starter',
      { plugins: [{ contract: Other, name: 'both', command: process.execPath, starter: startWithCommand(process.execPath) }] },
      /plugin Other \(named 'both'\): give a command or a starter, not both/,
    ],
    ['a contract without @Method() routes', { plugins: [{ contract: NoRoutes, command: process.execPath }] }, /NoRoutes has no @Method\(\) routes/],
    [
      'the same contract twice without a name',
      { plugins: [{ contract: Other, command: process.execPath }, { contract: Other, command: process.execPath }] },
      /plugin Other is registered twice/,
    ],
    ['no plugins', { plugins: [] }, /plugins must be a non-empty array/],
    [
      'a misspelt key in an entry (entries loaded from JSON)',
      { plugins: [JSON.parse('{"lazzy": true}') as object].map((extra) => ({ contract: Other, command: process.execPath, ...extra })) },
      /plugin Other: unknown key 'lazzy' in its entry; the keys are contract, name, command, .*, lazy, optional/,
    ],
  ];

  it.each(cases)('rejects compile() with PLUGWIRE_DEFINITION for %s', async (_, options, message) => {
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register(options)] }));
    expect(error).toBeInstanceOf(DefinitionError);
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('PlugwireModule: a misspelt config option', () => {
  @Plugin('config-typo')
  class Typo {
    @Method('/typo')
    typo(): Promise<string> {
      return stub();
    }
  }

  // connect() of a lazy entry runs at its first call, and an optional entry's failure was
  // only shown: the registry checks every entry's config when it is made, as connect() would.
  it.each([
    ['an eager entry', {}],
    ['a lazy entry', { lazy: true }],
    ['an optional entry', { optional: true }],
  ])('fails compile() with the TypeError naming the option, starting nothing: %s', async (_what, extra) => {
    const config = JSON.parse('{"timout": 100}') as Record<string, number>;
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [{ contract: Typo, command: process.execPath, args: [PLAIN_PLUGIN], logger: false, config, ...extra }] })] }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("plugwire config: unknown option 'timout' (did you mean 'timeout'?)");
  });

  it('checks the entry\'s instances with its config, and a config that is no object', async () => {
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [{ contract: Typo, command: process.execPath, lazy: true, instances: 0 }] })] }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^plugwire config: instances /);
    const notObject = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [{ contract: Typo, command: process.execPath, optional: true, config: JSON.parse('"fast"') as object }] })] }));
    expect(notObject).toBeInstanceOf(TypeError);
    expect((notObject as Error).message).toMatch(/^plugwire config: the configuration must be/);
  });
});

describe('PlugwireModule: entries that are no array of entries (plain JavaScript, a factory)', () => {
  @Plugin('shape')
  class Shape {
    @Method('/shape')
    shape(): Promise<string> {
      return stub();
    }
  }

  const cases: Array<[string, unknown, RegExp]> = [
    ['plugins an object', { plugins: { contract: Shape } }, /^PlugwireModule: plugins must be a non-empty array of entries$/],
    ['plugins a string', { plugins: 'x' }, /^PlugwireModule: plugins must be a non-empty array of entries$/],
    ['a null entry', { plugins: [null] }, /^PlugwireModule: every plugin entry needs a contract class$/],
    ['an entry without a contract', { plugins: [{ command: process.execPath }] }, /^PlugwireModule: every plugin entry needs a contract class$/],
  ];

  // Promise.resolve().then(): register() that throws fails the test's assertion, not the test.
  it.each([...cases, ['no options at all', undefined, /^PlugwireModule: plugins must be a non-empty array of entries$/] as [string, unknown, RegExp]])(
    'register(): %s rejects compile() with PLUGWIRE_DEFINITION',
    async (_what, options, message) => {
      const error = await rejectionOf(Promise.resolve().then(() => compile({ imports: [PlugwireModule.register(options as Parameters<typeof PlugwireModule.register>[0])] })));
      expect(error).toBeInstanceOf(DefinitionError);
      expect((error as Error).message).toMatch(message);
    },
  );

  it.each(cases)('registerAsync(): a factory that gives %s rejects compile() with PLUGWIRE_DEFINITION', async (_what, built, message) => {
    const error = await rejectionOf(
      Promise.resolve().then(() => compile({ imports: [PlugwireModule.registerAsync({ contracts: [Shape], useFactory: () => built as { plugins: [] } })] })),
    );
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('plugwire/nest without @nestjs/terminus', () => {
  it('never loads @nestjs/terminus, and its health indicator works without it', async () => {
    // A fresh process: jest's module registry would hide what a plain require loads.
    const child = spawnNode([fixture('nest/nest-no-terminus')]);
    opened.push({ close: async () => child.child.kill('SIGKILL') });
    const line = await child.line(/^\{/);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toBe('');
    const report = JSON.parse(line) as { loaded: string[]; installed: string | null; health: unknown };
    expect(report.installed).toContain('@nestjs/terminus'); // it could have been loaded...
    expect(report.loaded).toEqual([]); // ...and was not
    expect(report.health).toEqual({ plugins: { status: 'up', plugins: { Modifier: { state: 'idle', restarts: 0 } } } });
  });
});
