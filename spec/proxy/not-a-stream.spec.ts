// A contract that types a method AsyncIterable without { stream: true } compiles. The host
// then iterating its call got "is not async iterable" and an unhandled rejection of the
// call, which ends a Node process; the plugin wrote the async generator as {}. Now the loop
// reports a DefinitionError naming stream: true, the call's own rejection is handled, and
// the plugin answers 500 saying the same. A real plugin process.
import { DefinitionError, RemoteError, connect, type Connection } from '../../lib';
import { Logs } from '../fixtures/contracts/not-a-stream-contract';
import { fixtureStarter } from '../support/host-helpers';

let conn: Connection<Logs>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  conn = await connect(Logs, fixtureStarter('server/not-a-stream-plugin').starter);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await conn?.close();
});

/** Lets the event loop run the rejection tracking: a rejection left unhandled is reported by then. */
function turns(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

describe('a method typed AsyncIterable without { stream: true }', () => {
  it('makes for await report a DefinitionError naming stream: true, and leaves no rejection unhandled', async () => {
    const call = conn.plugin.tail();
    let thrown: unknown;
    try {
      for await (const line of call) throw new Error(`got ${line}`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DefinitionError);
    expect((thrown as Error).message).toContain("@Method('/tail', { stream: true })");
    // The call itself still settles: the plugin refuses to write an async generator as JSON.
    const answer = await (call as unknown as Promise<unknown>).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(answer).toBeInstanceOf(RemoteError);
    expect((answer as Error).message).toMatch(/\/tail returned an AsyncIterable, but the contract does not declare it a stream/);
    await turns();
    expect(unhandled).toEqual([]);
  });

  it('makes an awaited call reject with the plugin’s reason rather than give {}', async () => {
    await expect(conn.plugin.tail() as unknown as Promise<unknown>).rejects.toThrow(/declare it @Method\('\/tail', \{ stream: true \}\)/);
  });

  it('leaves the calls of other methods as they were', async () => {
    const answer = conn.plugin.ping();
    await expect(answer).resolves.toBe('pong');
  });
});
