// servePlugins(): a plugin written as a Nest application context, served and called with
// plugwire's own host (connect), as a process and inside the test process.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Injectable, Module, Scope, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  DefinitionError,
  Method,
  Plugin,
  PluginError,
  StartError,
  connect,
  startWithCommand,
  stub,
  type Connection,
  type PluginServer,
  type StartedPlugin,
  type Starter,
} from 'plugwire';
import { servePlugins } from 'plugwire/nest';
import { Greeting, Modifier } from '../../samples/modifier/contract';
import { PluginModule } from '../../samples/nest-plugin/plugin.module';
import { EmptyModule } from '../fixtures/nest/nest-empty-plugin';
import { collectingLogger, fixture, pidAlive, rejectionOf, removeDir, tempDir, waitForPidGone, type CollectingLogger } from '../support/host-helpers';

const NEST_PLUGIN = path.join(__dirname, '../../dist/samples/nest-plugin/main.js');

/** Wraps a starter to keep what it started (for the exit status). */
function recording(inner: Starter, started: StartedPlugin[]): Starter {
  return {
    name: inner.name,
    async start(context) {
      const plugin = await inner.start(context);
      started.push(plugin);
      return plugin;
    },
  };
}

describe('servePlugins(): the sample Nest plugin as a process', () => {
  let connection: Connection<Modifier> | undefined;
  let logger: CollectingLogger;
  const started: StartedPlugin[] = [];

  beforeAll(async () => {
    logger = collectingLogger();
    connection = await connect(Modifier, recording(startWithCommand(process.execPath, [NEST_PLUGIN], { name: 'nest-plugin', logger }), started));
  });

  afterAll(async () => {
    await connection?.term();
    const pid = started[0]?.pid;
    if (pid !== undefined) await waitForPidGone(pid);
  });

  it('answers modify, greet and join from the Nest providers', async () => {
    const { plugin } = connection!;
    await expect(plugin.modify('x')).resolves.toBe('x decorated');
    const greeting = await plugin.greet({ name: 'Ada', age: 36, address: { city: 'London' } });
    expect(greeting).toBeInstanceOf(Greeting);
    expect(greeting.text).toBe('hello Ada from London');
    expect(greeting.length).toBe('hello Ada from London'.length);
    await expect(plugin.join(['a', 'b'], '-', 2)).resolves.toBe('a-b-a-b');
  });

  it('validates a DTO in the plugin too (the Nest plugin keeps plugwire validation)', async () => {
    const error = await rejectionOf(connection!.client.call('/greet', { name: 'Ada', age: 3, address: { city: 7 } }));
    expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
  });

  it('on term(), closes the context (its shutdown hook runs) and exits with status 0', async () => {
    const [plugin] = started;
    expect(started).toHaveLength(1);
    expect(pidAlive(plugin!.pid!)).toBe(true);
    await connection!.term();
    await expect(plugin!.exited).resolves.toEqual({ code: 0, signal: null });
    expect(pidAlive(plugin!.pid!)).toBe(false);
    expect(logger.lines).toEqual(['[nest-plugin] nest-plugin: context closed']);
    expect(logger.errors).toEqual([]);
  });
});

describe('servePlugins(): a context without a plugin provider', () => {
  let dir: string | undefined;
  let app: INestApplicationContext | undefined;
  let connection: Connection<Modifier> | undefined;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    await connection?.term();
    connection = undefined;
    await app?.close();
    app = undefined;
    removeDir(dir);
  });

  it('rejects with PLUGWIRE_DEFINITION in process, listening on nothing', async () => {
    app = await NestFactory.createApplicationContext(EmptyModule, { logger: false });
    const socket = path.join(dir!, 'plugin.sock');
    const error = await rejectionOf(servePlugins(app, { socket, standalone: false, announce: false }));
    expect(error).toBeInstanceOf(DefinitionError);
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toMatch(/no provider that extends a @Plugin\(\) contract/);
    expect(existsSync(socket)).toBe(false);
  });

  it('makes a plugin process print the code and exit before it is ready, which the host sees as a start failure', async () => {
    const logger = collectingLogger();
    const error = await rejectionOf(connect(Modifier, startWithCommand(process.execPath, [fixture('nest/nest-empty-plugin')], { name: 'empty', logger })));
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).reason).toBe('exited');
    expect((error as Error).message).toContain('exited before it was ready (code 2)');
    expect(logger.lines).toEqual([expect.stringMatching(/^\[empty\] servePlugins failed: PLUGWIRE_DEFINITION /)]);
  });
});

describe('servePlugins(): a plugin provider that is not a singleton', () => {
  @Plugin('scoped')
  class Scoped {
    @Method('/scoped')
    scoped(): Promise<string> {
      return stub();
    }
  }

  @Injectable()
  class Dependency {
    readonly text = 'injected';
  }

  @Injectable({ scope: Scope.REQUEST })
  class PerRequest {}

  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  @Injectable({ scope: Scope.REQUEST })
  class RequestImpl extends Scoped {
    constructor(private readonly dependency: Dependency) {
      super();
    }
    override async scoped(): Promise<string> {
      return this.dependency.text;
    }
  }

  @Injectable({ scope: Scope.TRANSIENT })
  class TransientImpl extends Scoped {
    constructor(private readonly dependency: Dependency) {
      super();
    }
    override async scoped(): Promise<string> {
      return this.dependency.text;
    }
  }

  /** A singleton by its own scope, made per request by Nest for its dependency's. */
  @Injectable()
  class DependentImpl extends Scoped {
    constructor(
      private readonly dependency: Dependency,
      readonly request: PerRequest,
    ) {
      super();
    }
    override async scoped(): Promise<string> {
      return this.dependency.text;
    }
  }

  // Nest makes such a provider per request or per injection: the context holds only an
  // object of its class that no constructor ran on, whose injected fields are undefined.
  it.each([
    ['request-scoped', [RequestImpl], /^servePlugins\(\): provider RequestImpl is request-scoped/],
    ['transient', [TransientImpl], /^servePlugins\(\): provider TransientImpl is transient:/],
    ['a singleton that depends on a request-scoped provider', [DependentImpl, PerRequest], /^servePlugins\(\): provider DependentImpl is request-scoped \(or depends on a request-scoped provider\)/],
  ])('refuses %s with PLUGWIRE_DEFINITION naming it, listening on nothing', async (_what, providers, message) => {
    @Module({ providers: [Dependency, ...providers] })
    class ScopedModule {}
    app = await NestFactory.createApplicationContext(ScopedModule, { logger: false });
    const dir = tempDir();
    try {
      const socket = path.join(dir, 'plugin.sock');
      const error = await rejectionOf(servePlugins(app, { socket, standalone: false, announce: false }));
      expect(error).toBeInstanceOf(DefinitionError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/a served plugin must be a singleton \(the default scope\)$/);
      expect(existsSync(socket)).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('servePlugins(): in process, every plugin provider of the context', () => {
  @Plugin('counter')
  class Counter {
    @Method('/count')
    count(step: number): Promise<number> {
      return stub(step);
    }
  }

  @Injectable()
  class CounterImpl extends Counter {
    private total = 0;

    override async count(step: number): Promise<number> {
      this.total += step;
      return this.total;
    }
  }

  @Module({ providers: [CounterImpl] })
  class CounterModule {}

  @Module({ imports: [PluginModule, CounterModule] })
  class RootModule {}

  let app: INestApplicationContext | undefined;
  let connection: Connection<Modifier> | undefined;
  const servers: PluginServer[] = [];
  let log: jest.SpyInstance;

  beforeEach(() => {
    // The sample's PluginModule logs 'nest-plugin: context closed' when its context closes.
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await connection?.term();
    connection = undefined;
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await app?.close();
    app = undefined;
    log.mockRestore();
  });

  it('serves the providers of imported modules, with their injected dependencies, on one socket', async () => {
    const ctx = await NestFactory.createApplicationContext(RootModule, { logger: false });
    app = ctx;
    // A starter that serves the context inside this process, on the socket the client chose.
    const starter: Starter = {
      name: 'nest-context',
      async start(context) {
        const server = await servePlugins(ctx, { socket: context.socket, token: context.token, standalone: false, announce: false });
        servers.push(server);
        return { token: context.token, exited: server.closed.then(() => ({ code: 0, signal: null })), term: () => server.close() };
      },
    };
    connection = await connect(Modifier, starter);
    expect([...servers[0]!.routes].sort()).toEqual(['/count', '/greet', '/join', '/modify']);
    await expect(connection.plugin.modify('in process')).resolves.toBe('in process decorated');
    await expect(connection.client.call('/count', 2)).resolves.toBe(2);
    await expect(connection.client.call('/count', 3)).resolves.toBe(5);
    // The instance served is the context's own provider.
    await expect(ctx.get(CounterImpl).count(0)).resolves.toBe(5);

    await connection.term();
    await expect(servers[0]!.closed).resolves.toBeUndefined();
    expect(log).not.toHaveBeenCalled(); // the server closing leaves the context to its owner
    await ctx.close();
    app = undefined;
    expect(log).toHaveBeenCalledWith('nest-plugin: context closed');
  });
});
