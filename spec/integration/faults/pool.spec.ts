// Fault: instances of a pool killed with SIGKILL again and again under steady calls. Every
// idempotent call gets its own answer, an `idempotent: false` call gets its answer or
// PLUGWIRE_UNAVAILABLE and never runs twice, every call settles within its timeout, each
// kill costs exactly one restart of that instance, and close() leaves no process or
// descriptor behind.
import * as path from 'node:path';
import { connect } from '../../../lib';
import { FaultTest } from '../../fixtures/faults/fault-contract';
import { codeOf, FAULT_CONFIG, faultStarter, openFds, shown, timed, type Outcome } from '../../support/fault-helpers';
import { pidAlive, removeDir, tempDir, waitFor, waitForPidGone } from '../../support/host-helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const KILLS = 6;
const CALLERS = 12;

it(`a pool of 3 with ${KILLS} instances killed under ${CALLERS} callers: no wrong answer, no call run twice, one restart per kill, nothing left`, async () => {
  const fdsBefore = openFds();
  const { starter, logger } = faultStarter();
  const { plugin, client, close } = await connect(FaultTest, starter, { ...FAULT_CONFIG, instances: 3, socket: path.join(dir, 'pool.sock') });
  const seen = new Set<number>();
  const outcomes: Array<{ expected: string; idempotent: boolean; outcome: Outcome<string> }> = [];
  let stop = false;
  try {
    const callers = Array.from({ length: CALLERS }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        const idempotent = i % 4 !== 0;
        const value = `c${c}-${i}`;
        const outcome = await timed(() => (idempotent ? plugin.echo(value) : plugin.record(value)));
        outcomes.push({ expected: idempotent ? `${value} echoed` : `${value} recorded`, idempotent, outcome });
      }
    });
    for (let kill = 0; kill < KILLS; kill++) {
      const before = outcomes.length;
      await waitFor(() => outcomes.length > before + 100, 15_000, 'calls answered between kills');
      const running = client.stats.instances.filter((one) => one.state === 'running' && one.pid !== undefined);
      const victim = running[kill % running.length]?.pid as number;
      seen.add(victim);
      process.kill(victim, 'SIGKILL');
      await waitForPidGone(victim);
    }
    const before = outcomes.length;
    await waitFor(() => outcomes.length > before + 100, 15_000, 'calls answered after the last kill');
    stop = true;
    await Promise.all(callers);

    const wrong = outcomes.filter(({ expected, idempotent, outcome }) =>
      'value' in outcome ? outcome.value !== expected : idempotent || codeOf(outcome) !== 'PLUGWIRE_UNAVAILABLE',
    );
    expect(wrong.map(({ expected, outcome }) => [expected, shown(outcome)])).toEqual([]);
    for (const { outcome } of outcomes) expect(outcome.ms).toBeLessThanOrEqual(FAULT_CONFIG.timeout + 500);
    const recorded = logger.lines.filter((line) => line.startsWith('[fault-plugin] record '));
    expect(recorded.length).toBe(new Set(recorded).size);
    await waitFor(() => client.stats.instances.every((one) => one.state === 'running'), 10_000, 'every instance back');
    expect(client.stats).toMatchObject({ restarts: KILLS, failedStarts: 0 });
    for (const pid of seen) expect(pidAlive(pid)).toBe(false);
  } finally {
    stop = true;
    const pids = client.stats.instances.map((one) => one.pid as number);
    await close();
    for (const pid of pids) await waitForPidGone(pid);
  }
  await waitFor(() => openFds() <= fdsBefore + 2, 5000, 'descriptors back to where they were');
});
