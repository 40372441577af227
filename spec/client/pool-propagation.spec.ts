// A plugin that is the host of a pool (`instances: 2`) calls it while it serves a call: the
// nested call inherits the served call's deadline, and when the instance that got it dies
// mid-call, the pool's second try (sent once to the other instance) keeps that same
// deadline, not a fresh timeout of its own, even when it is sent after the served method
// has returned; a served call that was given up on gets no second try. A chain
// host → PoolMiddle → two PoolLeaf processes, real processes on real sockets.
import { AbortedError, connect, startWithCommand, withOptions, type Connection } from '../../lib';
import { PoolMiddle, type Try } from '../fixtures/pool-propagation/pool-propagation-contract';
import { collectingLogger, fixture, processesMarked, rejectionOf, waitFor, waitForPidGone, within } from '../support/host-helpers';

/** The last argument of the middle and of its leaves: how the spec finds any left behind. */
const MARKER = `pw-pool-propagation-spec-${process.pid}`;
/** The default timeout a call takes when it inherits nothing. */
const OWN_TIMEOUT = 30_000;

let conn: Connection<PoolMiddle> | undefined;
/** The middle's answers to the spec's own questions: a bound, not a wait. */
let ask: Connection<PoolMiddle>['plugin'];

// A fresh middle, and so a fresh pool of two running leaves, for each case: the instance
// that dies is not started again.
beforeEach(async () => {
  const starter = startWithCommand(process.execPath, [fixture('pool-propagation/middle-plugin'), MARKER], { logger: collectingLogger() });
  conn = await connect(PoolMiddle, starter);
  ask = withOptions(conn.plugin, { timeout: 5000 });
});
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});
afterAll(async () => {
  await conn?.close();
  // The middle closes its pool when it is closed: no middle or leaf process is left.
  await waitFor(() => processesMarked(MARKER).length === 0, 5000, 'every middle and leaf process to end');
});

/** The two tries of a tag: the first, whose instance died, and the second, on the other instance. */
async function twoTries(tag: string, pids: readonly number[]): Promise<[Try, Try]> {
  const tries = await ask.tries(tag);
  expect(tries).toHaveLength(2);
  const [first, second] = tries as [Try, Try];
  expect([...pids].sort()).toEqual([first.pid, second.pid].sort());
  // The first instance exited mid-call.
  await waitForPidGone(first.pid);
  return [first, second];
}

/** Both tries carry the served call's deadline (sent as `hostDeadline`, from `sentAt`), the second the same as the first. */
function expectServedDeadline([first, second]: [Try, Try], sentAt: number, hostDeadline: number): void {
  expect(first.deadline).not.toBeNull();
  expect(second.deadline).not.toBeNull();
  // The first try inherited the served call's deadline, not the 30 s of its own.
  expect(first.deadline).toBeGreaterThanOrEqual(hostDeadline - 5);
  expect(first.deadline).toBeLessThanOrEqual(hostDeadline + 50);
  // The second try keeps it: the same deadline, not a fresh timeout.
  expect(Math.abs((second.deadline as number) - (first.deadline as number))).toBeLessThanOrEqual(10);
  expect(second.deadline).toBeLessThanOrEqual(hostDeadline + 50);
  expect(second.deadline).toBeLessThan(sentAt + OWN_TIMEOUT / 3);
}

describe('a plugin that calls a pool it is the host of, while it serves a call, when the instance that got the call dies', () => {
  it('sends the call once more to the other instance with the served call’s deadline, and the served method gets its answer', async () => {
    const pids = await ask.pids();
    expect(pids).toHaveLength(2);
    // The middle and both leaves carry the marker: the check in afterAll would see any of them left behind.
    expect(processesMarked(MARKER)).toEqual(expect.arrayContaining([conn!.client.pid, ...pids]));
    const sentAt = Date.now();
    const hostDeadline = sentAt + 3000;
    const answer = await within(withOptions(conn!.plugin, { timeout: 3000 }).relay('relay', 'at-once'), 5000, 'the relayed call');

    const tries = await twoTries('relay', pids);
    expectServedDeadline(tries, sentAt, hostDeadline);
    // The middle's call resolved with the second instance's answer, which the host got.
    const [, second] = tries;
    expect(answer).toMatchObject({ pid: second.pid, deadline: second.deadline });
    expect(await ask.outcome('relay')).toMatchObject({ ok: true, value: { pid: second.pid, deadline: second.deadline } });
  });

  it('keeps the served call’s deadline for the second try made after the served method returned', async () => {
    const pids = await ask.pids();
    const sentAt = Date.now();
    const hostDeadline = sentAt + 3000;
    const returnedAt = await withOptions(conn!.plugin, { timeout: 3000 }).start('after-return');
    const outcome = await within(ask.outcome('after-return'), 5000, 'the middle’s call to its pool to settle');

    const tries = await twoTries('after-return', pids);
    const [first, second] = tries;
    // Both tries reached their leaf once the served method had returned: the second try could not inherit it again.
    expect(first.at).toBeGreaterThanOrEqual(returnedAt);
    expect(second.at).toBeGreaterThanOrEqual(returnedAt);
    expectServedDeadline(tries, sentAt, hostDeadline);
    expect(outcome).toMatchObject({ ok: true, value: { pid: second.pid, deadline: second.deadline } });
    expect(outcome.at).toBeLessThanOrEqual(hostDeadline + 1000);
  });

  it('sends no second try once the host gave up on the served call: the call fails with PLUGWIRE_ABORTED', async () => {
    const pids = await ask.pids();
    const controller = new AbortController();
    const served = rejectionOf(withOptions(conn!.plugin, { timeout: 3000, signal: controller.signal }).relay('abort', 'on-abort'));
    // The instance that got the first try waits for its signal, then exits.
    const first = await within(ask.firstTry('abort'), 5000, 'the first try to reach a leaf');
    const abortedAt = Date.now();
    controller.abort();
    expect(await served).toBeInstanceOf(AbortedError);

    const outcome = await within(ask.outcome('abort'), 5000, 'the middle’s call to its pool to settle');
    expect(outcome).toMatchObject({ ok: false, code: 'PLUGWIRE_ABORTED' });
    expect(outcome.at - abortedAt).toBeLessThan(1000);
    // The instance that got it died once the call was given up on...
    await waitForPidGone(first.pid);
    // ... while the other one runs and answers, and it was sent no second try.
    const other = pids.find((pid) => pid !== first.pid);
    expect(await ask.leafPid()).toBe(other);
    expect(await ask.tries('abort')).toEqual([first]);
  });
});
