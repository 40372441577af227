// A call made through any plugwire client while a method serves a call inherits that
// call's deadline and signal: in a chain host → Middle → Leaf (Middle is Leaf's host), and
// from a host service that calls its plugin back. Real processes on real sockets.
import { AbortedError, TimeoutError, connect, withOptions, type Connection } from '../../lib';
import { Callbacks, Middle, type Outcome, type Seen } from '../fixtures/propagation/propagation-contract';
import { fixtureStarter, rejectionOf, within } from '../support/host-helpers';

/** The host's side of Callbacks: calls the plugin's `/wait` back, and tells the spec how that went. */
class CallbacksImpl extends Callbacks {
  plugin: Connection<Middle>['plugin'] | undefined;
  readonly outcomes = new Map<string, Promise<Outcome>>();

  override callBack(tag: string): Promise<void> {
    const plugin = this.plugin;
    if (!plugin) throw new Error('no plugin to call back');
    const call = plugin.wait(tag);
    this.outcomes.set(
      tag,
      call.then(
        () => ({ ok: true, at: Date.now() }),
        (error: unknown) => ({ ok: false, at: Date.now(), code: (error as { code?: string }).code }),
      ),
    );
    return call;
  }
}

let conn: Connection<Middle>;
const services = new CallbacksImpl();
/** Middle's answers to the spec's own questions: a bound, not a wait. */
let ask: Connection<Middle>['plugin'];

beforeAll(async () => {
  const { starter } = fixtureStarter('propagation/middle-plugin');
  conn = await connect(Middle, starter, { services: [services] });
  services.plugin = conn.plugin;
  ask = withOptions(conn.plugin, { timeout: 5000 });
});
afterAll(async () => {
  await conn?.close();
});
/**
 * How long a settlement that inherits a deadline or an abort may take, on a loaded machine:
 * far below the 30 s of a call's own default timeout, which is what the cases tell apart.
 */
const SETTLE = 10_000;

// A service whose call back rejects once its caller went away is reported by the host's server.
beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

describe('a plugin that calls the plugin it is the host of, while it serves a call', () => {
  it('cuts the nested call at the served call’s deadline: PLUGWIRE_TIMEOUT, and the inner plugin’s signal fires', async () => {
    const deadline = Date.now() + 500;
    const served = rejectionOf(withOptions(conn.plugin, { timeout: 500 }).hang('deadline'));
    const outcome = await within(ask.outcome('deadline'), SETTLE, 'Middle’s call to Leaf to settle');
    const seen: Seen = await ask.leafSeen('deadline');
    expect(await served).toBeInstanceOf(TimeoutError);

    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
    // Leaf was sent the served call's deadline, not 30 s of its own, and let go at it.
    expect(seen.deadline).not.toBeNull();
    expect(seen.deadline).toBeLessThanOrEqual(deadline + 50);
    expect(seen.endedAt).not.toBeNull();
    // Timers fire late on a loaded machine; the default timeout is 30 s.
    expect(outcome.at).toBeLessThanOrEqual(deadline + SETTLE);
    expect(seen.endedAt).toBeLessThanOrEqual(deadline + SETTLE);
  });

  it('aborts the nested call when the host aborts its call: PLUGWIRE_ABORTED', async () => {
    const controller = new AbortController();
    const served = rejectionOf(withOptions(conn.plugin, { signal: controller.signal }).hang('abort'));
    await within(ask.waiting('abort'), SETTLE, 'Middle to call Leaf');
    const abortedAt = Date.now();
    controller.abort();
    expect(await served).toBeInstanceOf(AbortedError);
    const outcome = await within(ask.outcome('abort'), SETTLE, 'Middle’s call to Leaf to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_ABORTED' });
    // Well before the 30 s of its own timeout.
    expect(outcome.at - abortedAt).toBeLessThan(SETTLE);
  });

  it('cuts a nested stream at the served call’s deadline: the inner plugin’s iterator ends', async () => {
    const deadline = Date.now() + 400;
    const served = rejectionOf(withOptions(conn.plugin, { timeout: 400 }).drain('drain'));
    const outcome = await within(ask.outcome('drain'), SETTLE, 'Middle’s stream of Leaf to end');
    const seen = await ask.leafSeen('drain');
    expect(await served).toBeInstanceOf(TimeoutError);
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
    expect(seen.deadline).toBeLessThanOrEqual(deadline + 50);
    expect(seen.endedAt).toBeLessThanOrEqual(deadline + SETTLE);
  });

  it('aborts the nested call when the host breaks out of the stream being served', async () => {
    for await (const item of conn.plugin.yieldThenHang('break')) {
      expect(item).toBe(1);
      break;
    }
    const outcome = await within(ask.outcome('break'), SETTLE, 'Middle’s call to Leaf to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_ABORTED' });
    expect((await ask.leafSeen('break')).endedAt).not.toBeNull();
  });
});

describe('what is not inherited', () => {
  it('a call made outside any served method keeps its own timeout', async () => {
    const { madeAt, seen } = await ask.atStart();
    // The client's default timeout, 30 s.
    expect(seen.deadline).toBeGreaterThanOrEqual(madeAt + 29_000);
    expect(seen.endedAt).toBeNull();
  });

  it('a served call that is answered does not abort the work it left running; that work keeps the deadline it got', async () => {
    const deadline = Date.now() + 5000;
    await withOptions(conn.plugin, { timeout: 5000 }).background('background');
    // Answered: Leaf's /hold still runs, and answers once released.
    await ask.release('background');
    expect(await within(ask.outcome('background'), SETTLE, 'Middle’s background call')).toMatchObject({ ok: true });
    const seen = await ask.leafSeen('background');
    expect(seen.endedAt).toBeNull();
    expect(seen.deadline).toBeLessThanOrEqual(deadline + 50);
  });

  it('a call made while the method still runs after its caller gave up is refused; inside outsideCall() it is sent, and connect() starts a plugin', async () => {
    const error = await rejectionOf(withOptions(conn.plugin, { timeout: 300 }).afterGivenUp('given-up'));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(await within(ask.outcome('given-up-inherited'), SETTLE, 'Middle’s inherited call')).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
    expect(await within(ask.outcome('given-up-outside'), SETTLE, 'Middle’s call in outsideCall()')).toMatchObject({ ok: true });
    // A start (and its contract check) takes nothing from the call that happens to make it: it may be shared.
    expect(await within(ask.outcome('given-up-connect'), 10_000, 'Middle’s connect()')).toMatchObject({ ok: true });
  });

  it('work the method leaves running inherits nothing once the method has returned, though its caller gave up', async () => {
    await rejectionOf(withOptions(conn.plugin, { timeout: 300 }).leftRunning('left'));
    expect(await within(ask.outcome('left-left'), SETTLE, 'the call of the work left running')).toMatchObject({ ok: true });
  });

  it('a call made after the served call was answered inherits nothing', async () => {
    const deadline = Date.now() + 1000;
    await withOptions(conn.plugin, { timeout: 1000 }).afterAnswer('after');
    await ask.open('after');
    expect(await within(ask.outcome('after'), SETTLE, 'Middle’s later call')).toMatchObject({ ok: true });
    // Its own 30 s, not what was left of the answered call's deadline.
    expect((await ask.leafSeen('after')).deadline).toBeGreaterThan(deadline + 20_000);
  });
});

describe('a host service that calls its plugin back', () => {
  it('aborts the call back when the host aborts the plugin’s call that called the service', async () => {
    const controller = new AbortController();
    const served = rejectionOf(withOptions(conn.plugin, { signal: controller.signal }).callHost('callback'));
    await within(ask.waiting('callback'), SETTLE, 'the call back to reach the plugin');
    controller.abort();
    expect(await served).toBeInstanceOf(AbortedError);
    const waited = await within(ask.waited('callback'), SETTLE, 'the signal of the called-back method');
    expect(waited.endedAt).not.toBeNull();
    const outcome = await within(services.outcomes.get('callback') as Promise<Outcome>, SETTLE, 'the call back to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_ABORTED' });
  });

  it('bounds the call back by the deadline of the plugin’s call', async () => {
    const deadline = Date.now() + 500;
    const served = rejectionOf(withOptions(conn.plugin, { timeout: 500 }).callHost('callback-deadline'));
    const waited = await within(ask.waited('callback-deadline'), SETTLE, 'the signal of the called-back method');
    expect(await served).toBeInstanceOf(TimeoutError);
    expect(waited.deadline).toBeLessThanOrEqual(deadline + 50);
    expect(waited.endedAt).toBeLessThanOrEqual(deadline + SETTLE);
    const outcome = await within(services.outcomes.get('callback-deadline') as Promise<Outcome>, SETTLE, 'the call back to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_TIMEOUT' });
  });
});
