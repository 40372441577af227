// Host services in NestJS, with real plugin processes: a Nest host whose plugin entry takes
// `services: [HostApiImpl]` resolved from its container (with the service's own injected
// dependency), and a plugin written as a Nest application context that injects its host
// proxy with @InjectHost() (PlugwireModule.forHost). Also: who called (callContext().caller),
// streams, registerAsync and lazy entries, the errors at module init, a plugin started
// without services, and that closing the module leaves no process or socket behind.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { callContext, DefinitionError, hostProxy, Method, Plugin, stub, type Remote } from '../../lib';
import { getHostToken, InjectHost, InjectPlugin, PlugwireModule, PlugwireRegistry, type PluginEntry } from '../../lib/nest';
import { HostApi, Notes, type SeenCaller } from '../fixtures/nest/host-services-contracts';
import { fixture, pidAlive, rejectionOf, waitForPidGone } from '../support/host-helpers';
import { nestModules, silent } from '../support/nest-modules';

const PLUGIN = fixture('nest/host-services-plugin');


/** The host service's own dependency, provided by the application. */
@Injectable()
class KvStore {
  readonly values = new Map<string, string>([['boot', 'ready']]);
}

@Injectable()
class HostApiImpl extends HostApi {
  constructor(private readonly store: KvStore) {
    super();
  }
  override async put(key: string, value: string): Promise<void> {
    this.store.values.set(key, value);
  }
  override async get(key: string): Promise<string | null> {
    return this.store.values.get(key) ?? null;
  }
  override async whoami(): Promise<SeenCaller> {
    const caller = callContext().caller;
    return { name: caller?.name ?? null, pid: caller?.pid ?? null };
  }
  override async *count(n: number): AsyncIterable<number> {
    for (let i = 0; i < n; i++) yield i;
  }
}

/** A class with routes of its own that does not extend a @Plugin() contract... */
class NotAService {}

/** ...and a @Plugin() contract serving a route HostApi serves too. */
@Plugin('other')
class Clashing {
  @Method('/kv/get') read(key: string): Promise<string> { return stub(key); }
}
class ClashingImpl extends Clashing {}

const notes = (extra: Partial<PluginEntry> = {}): PluginEntry => ({ contract: Notes, command: process.execPath, args: [PLUGIN], logger: false, services: [HostApiImpl], ...extra });

const modules = nestModules();
const { compile, seenPids } = modules;

/** The running plugin's pid and socket directory, remembered for the cleanup. */
function running(moduleRef: TestingModule, name?: string): { pid: number; dir: string } {
  const client = moduleRef.get(PlugwireRegistry).client(Notes, name);
  const pid = client?.pid;
  if (!client || pid === undefined) throw new Error('the plugin is not running');
  seenPids.add(pid);
  return { pid, dir: path.dirname(client.socket) };
}

afterEach(() => modules.cleanup());

describe('PlugwireModule: a plugin entry with host services', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [PlugwireModule.register({ plugins: [notes()] })],
      providers: [KvStore, HostApiImpl],
    })
      .setLogger(silent)
      .compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  });

  afterAll(async () => {
    const { pid, dir } = running(moduleRef);
    await moduleRef.close();
    // The plugin is stopped, and the private directory with both sockets removed.
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(path.join(dir, 'host.sock'))).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('serves the application\'s own provider, with its injected dependency, to the Nest plugin\'s injected host proxy', async () => {
    const plugin = moduleRef.get<Remote<Notes>>(Notes);
    await expect(plugin.save('a', 'one')).resolves.toBe('one');
    // The plugin's own injected KeyPrefix, in the host's own KvStore.
    expect(moduleRef.get(KvStore).values.get('note:a')).toBe('one');
  });

  it('serves the host services before the plugin\'s onModuleInit runs, outside any served call', async () => {
    await expect(moduleRef.get<Remote<Notes>>(Notes).startup()).resolves.toBe('ready');
  });

  it('tells the service which plugin called: the entry\'s key and the plugin\'s pid', async () => {
    const { pid } = running(moduleRef);
    await expect(moduleRef.get<Remote<Notes>>(Notes).caller()).resolves.toEqual({ seen: { name: 'Notes', pid }, pid });
  });

  it('streams from a host service to the plugin', async () => {
    await expect(moduleRef.get<Remote<Notes>>(Notes).sum(5)).resolves.toBe(10);
  });

  it('keeps the host socket private: mode 0600 in the plugin\'s private directory', () => {
    const { dir } = running(moduleRef);
    expect(statSync(path.join(dir, 'host.sock')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

/** A provider that calls a named plugin in its own onModuleInit, before the module's bootstrap hook. */
@Injectable()
class EarlyCaller implements OnModuleInit {
  saved: string | null = null;
  constructor(@InjectPlugin(Notes, 'second') readonly notes: Remote<Notes>) {}
  async onModuleInit(): Promise<void> {
    this.saved = await this.notes.save('early', 'yes');
  }
}

describe('PlugwireModule: host services of a named entry', () => {
  it('are served to a call made before the bootstrap, name the entry as the caller, and outlive a restart', async () => {
    const moduleRef = await compile({
      imports: [PlugwireModule.register({ plugins: [notes({ name: 'second' })] })],
      providers: [KvStore, HostApiImpl, EarlyCaller],
    });
    const { notes: plugin, saved } = moduleRef.get(EarlyCaller);
    expect(saved).toBe('yes');
    const first = running(moduleRef, 'second').pid;
    await expect(plugin.caller()).resolves.toEqual({ seen: { name: 'Notes:second', pid: first }, pid: first });

    process.kill(first, 'SIGKILL');
    await waitForPidGone(first);
    // The next call restarts the plugin, which finds the same services at the same place.
    const after = await plugin.caller();
    expect(after.pid).not.toBe(first);
    expect(after.seen).toEqual({ name: 'Notes:second', pid: after.pid });
    running(moduleRef, 'second');
    await expect(plugin.save('late', 'still')).resolves.toBe('still');
    expect(moduleRef.get(KvStore).values.get('note:early')).toBe('yes');
  });
});

describe('PlugwireModule.registerAsync(): host services of a lazy entry', () => {
  it('resolves them at init and serves them from the first call', async () => {
    const moduleRef = await compile({
      imports: [
        PlugwireModule.registerAsync({
          contracts: [Notes],
          useFactory: () => ({ plugins: [notes({ lazy: true })] }),
        }),
      ],
      providers: [KvStore, HostApiImpl],
    });
    expect(moduleRef.get(PlugwireRegistry).list()[0]?.state).toBe('idle');
    await expect(moduleRef.get<Remote<Notes>>(Notes).save('b', 'two')).resolves.toBe('two');
    const { pid, dir } = running(moduleRef);
    expect(moduleRef.get(KvStore).values.get('note:b')).toBe('two');
    await moduleRef.close();
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('serves an instance given in services as it is', async () => {
    const store = new KvStore();
    const moduleRef = await compile({
      imports: [PlugwireModule.register({ plugins: [notes({ services: [new HostApiImpl(store)] })] })],
    });
    await expect(moduleRef.get<Remote<Notes>>(Notes).save('c', 'three')).resolves.toBe('three');
    running(moduleRef);
    expect(store.values.get('note:c')).toBe('three');
  });
});

describe('PlugwireModule: host services that are wrong fail the application\'s start', () => {
  it.each([
    ['a class that is not a @Plugin() implementation', [NotAService], {}, /plugin Notes: host service NotAService \(services\[0\]\) is not a @Plugin\(\) implementation/],
    ['a class that is not a @Plugin() implementation, in a lazy and optional entry', [NotAService], { lazy: true, optional: true }, /host service NotAService .* is not a @Plugin\(\) implementation/],
    ['something that is not a class', ['HostApiImpl'], {}, /services\[0\] \(HostApiImpl\) is not a class/],
    ['two services serving one route', [HostApiImpl, ClashingImpl], {}, /host services HostApiImpl and ClashingImpl both serve \/kv\/get/],
    ['services given twice', [HostApiImpl], { config: { services: [] } }, /give services or config.services, not both/],
    // Its methods are the contract's placeholders: every call would fail with PLUGWIRE_STUB.
    ['the contract class itself', [HostApi], {}, /plugin Notes: host service HostApi \(services\[0\]\) is the @Plugin\(\) contract itself, .*: pass a class that extends the contract and implements its methods/],
    ['an instance of the contract class, in a lazy and optional entry', [new HostApi()], { lazy: true, optional: true }, /host service HostApi \(services\[0\]\) is the @Plugin\(\) contract itself/],
  ])('%s', async (_what, services, extra, message) => {
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [notes({ ...extra, services: services as PluginEntry['services'] })] })], providers: [KvStore, HostApiImpl] }));
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    ['an eager entry', {}],
    ['a lazy and optional entry', { lazy: true, optional: true }],
  ])('names a service class the application does not provide, before any plugin starts: %s', async (_what, extra) => {
    const error = await rejectionOf(compile({ imports: [PlugwireModule.register({ plugins: [notes(extra)] })], providers: [KvStore] }));
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(/plugin Notes: host service HostApiImpl is not a provider of the application: add it to the providers of a module/);
  });
});

describe('a Nest plugin whose host offers no services', () => {
  it('gets PLUGWIRE_CONTRACT naming the contract, not a hang', async () => {
    const moduleRef = await compile({ imports: [PlugwireModule.register({ plugins: [notes({ services: undefined })] })] });
    const plugin = moduleRef.get<Remote<Notes>>(Notes);
    running(moduleRef);
    await expect(plugin.startup()).resolves.toBe('PLUGWIRE_CONTRACT');
    // The plugin's method did not catch it: the host gets it as the plugin's error, with its code.
    await expect(plugin.save('d', 'four')).rejects.toMatchObject({
      code: 'PLUGWIRE_REMOTE',
      remote: { code: 'PLUGWIRE_CONTRACT', message: expect.stringMatching(/^hostProxy\(HostApi\): this plugin was started without host services/) as unknown },
    });
  });
});

describe('PlugwireModule.forHost()', () => {
  @Injectable()
  class UsesHost {
    constructor(@InjectHost(HostApi) readonly host: Remote<HostApi>) {}
  }

  it('provides a host proxy under getHostToken(), a symbol of the contract, not the class', async () => {
    const moduleRef = await compile({ imports: [PlugwireModule.forHost([HostApi])], providers: [UsesHost] });
    const token = getHostToken(HostApi);
    expect(typeof token).toBe('symbol');
    expect(getHostToken(HostApi)).toBe(token);
    expect(token.description).toBe('plugwire:host:HostApi');
    expect(moduleRef.get(UsesHost).host).toBe(moduleRef.get(token));
    // This process was started by no host: the call says so, naming the contract.
    await expect(moduleRef.get(UsesHost).host.get('x')).rejects.toMatchObject({ code: 'PLUGWIRE_CONTRACT' });
  });

  it('refuses a class that is not a @Plugin() contract', () => {
    expect(() => PlugwireModule.forHost([NotAService])).toThrow(DefinitionError);
    expect(() => PlugwireModule.forHost([NotAService])).toThrow(/NotAService has no @Method\(\) routes \(PlugwireModule.forHost\(\)\)/);
  });

  it('gives the same proxy as hostProxy() would: with the contract\'s methods only', async () => {
    const moduleRef = await compile({ imports: [PlugwireModule.forHost([HostApi], { callOptions: { timeout: 1000 } })], providers: [UsesHost] });
    const { host } = moduleRef.get(UsesHost);
    expect(typeof host.whoami).toBe('function');
    expect((host as unknown as Record<string, unknown>)['onModuleInit']).toBeUndefined();
    expect(Object.keys(hostProxy(HostApi))).toEqual(Object.keys(host));
  });
});
