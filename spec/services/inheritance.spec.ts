// A host call made while a plugin method serves a call inherits that call's deadline and
// signal: a hanging host service is let go at the served call's deadline, or as soon as
// the host aborts its call to the plugin, and the service's callContext().signal fires.
import { AbortedError, TimeoutError, connect, withOptions, type Connection } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { ServicesPlugin, type Outcome } from '../fixtures/services/services-contract';
import { fixtureStarter, rejectionOf, waitFor, within } from '../support/host-helpers';

let impl: HostApiImpl;
let conn: Connection<ServicesPlugin>;

beforeAll(async () => {
  impl = new HostApiImpl();
  const { starter } = fixtureStarter('services/services-plugin');
  conn = await connect(ServicesPlugin, starter, { services: [impl] });
});
afterAll(async () => {
  await conn?.close();
});
// A service that rejects with its signal's reason once its caller went away is reported
// by the host's server, as a plugin method would be.
beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

/** What the plugin's host call of `tag` ended with, once it did. */
async function pluginOutcome(tag: string): Promise<Outcome> {
  let outcome: Outcome | null = null;
  await waitFor(async () => (outcome = await conn.plugin.report(tag)) !== null, 3000, `the plugin's host call ${tag} to settle`);
  return outcome as unknown as Outcome;
}

describe('a host call made inside a served call', () => {
  it('times out no later than the served call’s deadline, and the service’s signal fires', async () => {
    const deadline = Date.now() + 400;
    // The plugin's method may answer its host call's timeout just before the host sees the
    // deadline pass: either way the call ends at its deadline.
    const served = withOptions(conn.plugin, { timeout: 400 })
      .hang('deadline')
      .catch((error: unknown) => error);
    await within(impl.entered.wait('deadline'), 2000, 'the service to be called');
    const abortedAt = await within(impl.aborted.wait('deadline'), 2000, 'the service’s signal');
    const answer = await served;
    expect(answer instanceof TimeoutError || (answer as Outcome).code === 'PLUGWIRE_TIMEOUT').toBe(true);

    const outcome = await pluginOutcome('deadline');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
    // Timers fire a little late; the host call is given what is left of the deadline, no more.
    expect(outcome.at).toBeLessThanOrEqual(deadline + 100);
    expect(abortedAt).toBeLessThanOrEqual(deadline + 100);
  });

  it('takes a timeout of its own only up to what is left of the served call’s deadline', async () => {
    const deadline = Date.now() + 300;
    // /attempt asks for a host call with a timeout of 5 s.
    const served = withOptions(conn.plugin, { timeout: 300 })
      .attempt('hang-timeout', 5000)
      .catch((error: unknown) => error);
    const abortedAt = await within(impl.aborted.wait('hang-timeout'), 2000, 'the service’s signal');
    expect(abortedAt).toBeLessThanOrEqual(deadline + 100);
    const answer = await served;
    expect(answer instanceof TimeoutError || (answer as Outcome).code === 'PLUGWIRE_TIMEOUT').toBe(true);
  });

  it('reading an endless host stream, ends it at the served call’s deadline (its finally runs)', async () => {
    const deadline = Date.now() + 300;
    const served = withOptions(conn.plugin, { timeout: 300 })
      .attempt('endless-all', 'deadline-stream')
      .catch((error: unknown) => error);
    const endedAt = await within(impl.ended.wait('deadline-stream'), 2000, 'the service iterator’s finally');
    expect(endedAt).toBeLessThanOrEqual(deadline + 100);
    const answer = await served;
    expect(answer instanceof TimeoutError || (answer as Outcome).code === 'PLUGWIRE_TIMEOUT').toBe(true);
  });

  it('is aborted, and the service’s signal fires, when the host aborts its call to the plugin', async () => {
    const controller = new AbortController();
    const served = rejectionOf(withOptions(conn.plugin, { signal: controller.signal }).hang('abort'));
    await within(impl.entered.wait('abort'), 2000, 'the service to be called');
    const abortedFromHost = Date.now();
    controller.abort();
    const abortedAt = await within(impl.aborted.wait('abort'), 2000, 'the service’s signal');
    expect(await served).toBeInstanceOf(AbortedError);
    // The issue asks for 100 ms; the bound is generous for a loaded machine.
    expect(abortedAt - abortedFromHost).toBeLessThan(200);

    const outcome = await pluginOutcome('abort');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_ABORTED' });
    expect(outcome.at - abortedFromHost).toBeLessThan(200);
  });
});
