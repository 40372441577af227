// Host services of plugins served in the host's own process (serveInProcess()): each
// served call reaches the services of its own plugin's host, a plugin still running after
// close() fails its host calls cleanly, and plugins in separate processes likewise reach
// their own host.
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { connect, hostProxy, serveInProcess, type Connection } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { HostApi, ServicesPlugin } from '../fixtures/services/services-contract';
import { ServicesPluginImpl } from '../fixtures/services/services-plugin-impl';
import { fixtureStarter, thrownBy, within } from '../support/host-helpers';

describe('host services of an in-process plugin', () => {
  let impl: HostApiImpl;
  let plugin: ServicesPluginImpl;
  let conn: Connection<ServicesPlugin>;

  beforeAll(async () => {
    impl = new HostApiImpl();
    plugin = new ServicesPluginImpl();
    conn = await connect(ServicesPlugin, serveInProcess(plugin), { services: [impl] });
    impl.plugin = conn.plugin;
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('are called by the plugin’s methods, streams included', async () => {
    expect(await conn.plugin.attempt('log', 'a')).toMatchObject({ ok: true, value: 'host logged a' });
    expect(await conn.plugin.attempt('lines', 4)).toMatchObject({ ok: true, value: [0, 1, 2, 3] });
    expect(await conn.plugin.attempt('endless-take', 'in-process')).toMatchObject({ ok: true, value: [0, 1, 2] });
    await within(impl.ended.wait('in-process'), 2000, 'the service iterator’s finally');
  });

  it('name the plugin as the caller: its starter’s name and this process', async () => {
    expect(await conn.plugin.attempt('whoami')).toMatchObject({ ok: true, value: { label: 'host', name: conn.client.name, pid: process.pid } });
    expect(conn.client.name).toBe('services-plugin');
  });

  it('take re-entrant calls, 64 at once (the host marking its calls back: see reentrancy.spec.ts)', async () => {
    const calls = Array.from({ length: 64 }, (_, i) => conn.plugin.a(i, true));
    expect(await within(Promise.all(calls), 8000, '64 calls of /a')).toEqual(Array.from({ length: 64 }, (_, i) => i * 2));
  });

  it('are asked for by contract: hostProxy() of a class without @Method() routes throws PLUGWIRE_DEFINITION', () => {
    class NoContract {}
    expect(thrownBy(() => hostProxy(NoContract))).toMatchObject({ code: 'PLUGWIRE_DEFINITION' });
  });

  it('are not reached by a host proxy outside a served call: PLUGWIRE_CONTRACT naming the contract', async () => {
    await expect(hostProxy(HostApi).log('x')).rejects.toMatchObject({ code: 'PLUGWIRE_CONTRACT', message: expect.stringContaining('HostApi') });
  });
});

describe('a host stream of an in-process plugin', () => {
  it('returned while its first next() still reaches the host: that next() is done, and no host stream is left open', async () => {
    const impl = new HostApiImpl();
    const conn = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services: [impl] });
    try {
      // The first host call of this plugin: its connection to the host is still being made.
      expect(await conn.plugin.attempt('endless-race', 'race')).toMatchObject({ ok: true, value: { done: true } });
      if (impl.began.of('race').settled) await within(impl.ended.wait('race'), 2000, 'the service iterator’s finally');
    } finally {
      await conn.close();
    }
  });
});

describe('an empty list of services', () => {
  it('offers none: the plugin’s host calls fail with PLUGWIRE_CONTRACT naming the contract', async () => {
    const conn = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services: [] });
    try {
      const outcome = await conn.plugin.attempt('log', 'x');
      expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_CONTRACT' });
      expect(outcome.message).toContain('HostApi');
      expect(readdirSync(path.dirname(conn.client.socket))).toEqual(['plugin.sock']);
    } finally {
      await conn.close();
    }
  });
});

describe('a service class that leaves contract methods to stub()', () => {
  it('is warned about with PLUGWIRE_NOT_IMPLEMENTED, telling to override them in the class passed to connect() as a service', async () => {
    class PartialHostApi extends HostApi {}
    // Spied rather than listened to: jest's sandboxed process object does not see the real one's events.
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let conn: Connection<ServicesPlugin> | undefined;
    try {
      conn = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services: [new PartialHostApi()] });
      const warnings = spy.mock.calls.filter(([, options]) => options?.code === 'PLUGWIRE_NOT_IMPLEMENTED').map(([warning]) => String(warning));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('PartialHostApi does not override HostApi.log (route /log)');
      expect(warnings[0]).toMatch(/Override them in the class passed to the services of connect\(\)\.$/);
    } finally {
      spy.mockRestore();
      await conn?.close();
    }
  });
});

describe('after close()', () => {
  it('nothing is left on disk, and a host call that the in-process plugin still makes fails cleanly with PLUGWIRE_UNAVAILABLE', async () => {
    const impl = new HostApiImpl();
    const plugin = new ServicesPluginImpl();
    const conn = await connect(ServicesPlugin, serveInProcess(plugin), { services: [impl] });
    await conn.plugin.detach('after-close');
    expect(await conn.plugin.attempt('log', 'before')).toMatchObject({ ok: true });
    const dir = path.dirname(conn.client.socket);
    expect(readdirSync(dir).sort()).toEqual(['host.sock', 'plugin.sock']);
    await conn.close();
    expect(existsSync(dir)).toBe(false);
    const outcome = await within(plugin.release('after-close'), 3000, 'the late host call to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_UNAVAILABLE' });
    expect(outcome.ms).toBeLessThan(1000);
    expect(impl.logged.map((l) => l.line)).toEqual(['before']);
  });
});

describe('two plugins with different services in one host', () => {
  it('each reach their own, served in this one process', async () => {
    const one = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services: [new HostApiImpl('one')] });
    try {
      const two = await connect(ServicesPlugin, serveInProcess(new ServicesPluginImpl()), { services: [new HostApiImpl('two')] });
      try {
        const rounds = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).plugin.attempt('log', String(i))),
        );
        expect(rounds.map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => `${i % 2 === 0 ? 'one' : 'two'} logged ${i}`));
      } finally {
        await two.close();
      }
    } finally {
      await one.close();
    }
  });

  it('each reach their own, as processes', async () => {
    const a = fixtureStarter('services/services-plugin');
    const b = fixtureStarter('services/services-plugin');
    const [one, two] = await Promise.all([
      connect(ServicesPlugin, a.starter, { services: [new HostApiImpl('one')] }),
      connect(ServicesPlugin, b.starter, { services: [new HostApiImpl('two')] }),
    ]);
    try {
      expect(await one.plugin.attempt('whoami')).toMatchObject({ value: { label: 'one', pid: one.client.pid } });
      expect(await two.plugin.attempt('whoami')).toMatchObject({ value: { label: 'two', pid: two.client.pid } });
      expect(await one.plugin.early()).toMatchObject({ ok: true, value: `one logged started ${one.client.pid}` });
      expect(await two.plugin.early()).toMatchObject({ ok: true, value: `two logged started ${two.client.pid}` });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
