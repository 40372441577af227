// hostProxy() in a plugin process: the same typed proxy, validation and errors as the host's
// createProxy(), a contract the host does not offer, a host that offers none, per-call
// options, callContext().caller on the host, and host services that stream.
import { connect, type Connection } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { ServicesPlugin } from '../fixtures/services/services-contract';
import { fixtureStarter, within } from '../support/host-helpers';

let impl: HostApiImpl;
let conn: Connection<ServicesPlugin>;
let name: string;

beforeAll(async () => {
  impl = new HostApiImpl();
  const { starter } = fixtureStarter('services/services-plugin');
  name = starter.name;
  conn = await connect(ServicesPlugin, starter, { services: [impl] });
});
afterAll(async () => {
  await conn?.close();
});

describe('hostProxy() in a plugin process', () => {
  it('calls the host service through the typed proxy, the arguments converted and validated', async () => {
    expect(await conn.plugin.attempt('check', { key: 'k', value: 3 })).toMatchObject({ ok: true, value: 'k=3' });
  });

  it('refuses an invalid argument with PLUGWIRE_VALIDATION before sending it', async () => {
    const before = impl.logged.length;
    const outcome = await conn.plugin.attempt('check', { key: 'k', value: -1 });
    expect(outcome).toMatchObject({ ok: false, name: 'ValidationError', code: 'PLUGWIRE_VALIDATION' });
    expect(outcome.message).toMatch(/value/);
    expect(impl.logged.length).toBe(before);
  });

  it('passes on the host’s PLUGWIRE_VALIDATION for an argument only the host finds invalid', async () => {
    const outcome = await conn.plugin.attempt('check-loose', { key: 'k', value: -1 });
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_VALIDATION' });
    expect(outcome.message).toMatch(/value/);
  });

  it('passes on a coded error a service throws: PLUGWIRE_REMOTE with its name, code and message', async () => {
    expect(await conn.plugin.attempt('fail', 'coded')).toMatchObject({
      ok: false,
      name: 'RemoteError',
      code: 'PLUGWIRE_REMOTE',
      message: 'no entry for you',
      remote: { name: 'DeniedError', code: 'E_DENIED', message: 'no entry for you' },
    });
  });

  it('passes on a plain Error as PLUGWIRE_REMOTE (and the host reports its stack, as a plugin does)', async () => {
    const reported = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    let outcome;
    try {
      outcome = await conn.plugin.attempt('fail', 'plain');
      expect(reported).toHaveBeenCalledWith(expect.stringContaining('plain failure'));
    } finally {
      reported.mockRestore();
    }
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_REMOTE', message: 'plain failure', remote: { name: 'Error', message: 'plain failure' } });
    expect(outcome.remote?.code).toBeUndefined();
  });

  it('fails with PLUGWIRE_CONTRACT naming a contract the host does not offer', async () => {
    const outcome = await conn.plugin.attempt('other');
    expect(outcome).toMatchObject({ ok: false, name: 'ContractError', code: 'PLUGWIRE_CONTRACT' });
    expect(outcome.message).toContain('OtherApi');
    expect(outcome.message).toContain('/other/ping');
  });

  it('takes withOptions(): a timeout of its own', async () => {
    // The service rejects with its signal's reason, which the host's server reports.
    const reported = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const outcome = await conn.plugin.attempt('hang-timeout', 200);
      expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
      expect(outcome.ms).toBeGreaterThanOrEqual(190);
      expect(outcome.ms).toBeLessThan(2000);
      // The service's signal fired with the plugin's call gone.
      await within(impl.aborted.wait('hang-timeout'), 2000, 'the service’s signal');
    } finally {
      reported.mockRestore();
    }
  });

  it('names the calling plugin on the host: callContext().caller is its name and process id', async () => {
    expect(await conn.plugin.attempt('whoami')).toMatchObject({ ok: true, value: { label: 'host', name, pid: conn.client.pid } });
    expect(name).toBe('services-plugin');
  });
});

describe('a streaming host service', () => {
  it('is read by the plugin with for await', async () => {
    expect(await conn.plugin.attempt('lines', 5)).toMatchObject({ ok: true, value: [0, 1, 2, 3, 4] });
  });

  it('ends, its finally run, when the plugin breaks out of its loop', async () => {
    const outcome = await conn.plugin.attempt('endless-take', 'break');
    expect(outcome).toMatchObject({ ok: true, value: [0, 1, 2] });
    await within(impl.ended.wait('break'), 2000, 'the service iterator’s finally');
  });

  it('is read inside a stream method of the plugin, which streams on what it reads', async () => {
    const items: number[] = [];
    for await (const item of conn.plugin.relay(4)) items.push(item);
    expect(items).toEqual([0, 10, 20, 30]);
  });

  it('throws its error in the plugin’s loop after the items before it', async () => {
    expect(await conn.plugin.attempt('fail-after', 3)).toMatchObject({
      ok: true,
      value: { items: [0, 1, 2], outcome: { ok: false, code: 'PLUGWIRE_REMOTE', remote: { name: 'DeniedError', code: 'E_DENIED' } } },
    });
  });
});

describe('a plugin whose host offers no services', () => {
  it('fails every host call at once with PLUGWIRE_CONTRACT naming the contract', async () => {
    const { starter } = fixtureStarter('services/services-plugin');
    const bare = await connect(ServicesPlugin, starter);
    try {
      const early = await bare.plugin.early();
      expect(early).toMatchObject({ ok: false, code: 'PLUGWIRE_CONTRACT' });
      expect(early?.message).toContain('HostApi');
      const outcome = await bare.plugin.attempt('log', 'x');
      expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_CONTRACT' });
      expect(outcome.message).toContain('HostApi');
      expect(outcome.ms).toBeLessThan(100);
      expect(await bare.plugin.attempt('lines', 2)).toMatchObject({ ok: false, code: 'PLUGWIRE_CONTRACT' });
    } finally {
      await bare.close();
    }
  });
});
