// Fault: a plugin that crashes at every start (after a first good one). Restarts back off,
// the plugin is given up on after restart.maxRestarts with PLUGWIRE_UNAVAILABLE, calls
// then fail fast without spawning, and once the plugin is fixed the first call after the
// cooldown starts it again.
import { unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect, type Connection } from '../../../lib';
import { FaultTest } from '../../fixtures/faults/fault-contract';
import { codeOf, FAULT_CONFIG, faultStarter, shown, spawnLog, timed, type Outcome } from '../../support/fault-helpers';
import { removeDir, tempDir, waitFor } from '../../support/host-helpers';

const MAX_RESTARTS = 5;
const INITIAL_DELAY = 40;
const MAX_DELAY = 320;
const COOLDOWN = 500;
/** The waits before the 2nd..5th restart in a row: 40, 80, 160, 320 ms. */
const DELAYS = [40, 80, 160, 320];
/** A call that fails fast does not spawn or wait: a few ms. */
const FAST = 100;
const EARLY = 5;

let dir: string;
let count = 0;
const open: Array<Connection<FaultTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

/** fault-plugin that logs each spawn and crashes at start while the marker exists; killed once it ran. */
async function crashLooping(): Promise<Connection<FaultTest> & { spawns: () => Array<{ pid: number; at: number }>; fix: () => void }> {
  const n = ++count;
  const log = path.join(dir, `spawns${n}.txt`);
  const marker = path.join(dir, `broken${n}`);
  const { starter } = faultStarter({ FAULT_SPAWN_LOG: log, FAULT_CRASH_MARKER: marker });
  const connection = await connect(FaultTest, starter, {
    ...FAULT_CONFIG,
    restart: { maxRestarts: MAX_RESTARTS, initialDelay: INITIAL_DELAY, maxDelay: MAX_DELAY, cooldown: COOLDOWN },
    socket: path.join(dir, `c${n}.sock`),
  });
  open.push(connection);
  writeFileSync(marker, 'broken');
  process.kill(connection.client.pid!, 'SIGKILL');
  await waitFor(() => connection.client.state === 'exited', 3000, "state 'exited'");
  return { ...connection, spawns: () => spawnLog(log), fix: () => unlinkSync(marker) };
}

describe('a plugin that crashes at every start', () => {
  it(`spawns it ${MAX_RESTARTS} more times with growing gaps, then gives up with PLUGWIRE_UNAVAILABLE; given up, calls fail fast without a spawn; after the cooldown a still-broken plugin costs one spawn; once fixed, a call after the cooldown starts it and succeeds`, async () => {
    const { plugin, client, spawns, fix } = await crashLooping();
    expect(spawns()).toHaveLength(1);

    // Each call makes one restart, which fails, until the plugin is given up on.
    const backingOff: Array<Outcome<string>> = [];
    while (client.state !== 'unavailable') {
      backingOff.push(await timed(() => plugin.echo(`try ${backingOff.length}`)));
      expect(backingOff.length).toBeLessThanOrEqual(MAX_RESTARTS);
    }
    expect(backingOff.map(codeOf)).toEqual(Array(MAX_RESTARTS).fill('PLUGWIRE_UNAVAILABLE'));
    for (const outcome of backingOff) expect(outcome.ms).toBeLessThanOrEqual(FAULT_CONFIG.timeout);
    const crashes = spawns().slice(1);
    expect(crashes).toHaveLength(MAX_RESTARTS);
    const gaps = crashes.slice(1).map((spawn, i) => spawn.at - crashes[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(DELAYS[i]! - EARLY));
    expect(gaps[gaps.length - 1]!).toBeGreaterThan(gaps[0]!);

    // Given up: no spawn, no wait.
    for (let i = 0; i < 10; i++) {
      const outcome = await timed(() => plugin.echo(`given up ${i}`));
      expect(codeOf(outcome)).toBe('PLUGWIRE_UNAVAILABLE');
      expect(outcome.ms).toBeLessThan(FAST);
    }
    expect(spawns()).toHaveLength(1 + MAX_RESTARTS);
    expect(client.state).toBe('unavailable');

    // After the cooldown, still broken: one spawn, and given up again at once.
    const firstAfterCooldown = async (): Promise<void> => {
      const before = spawns().length;
      await waitFor(
        async () => {
          const outcome = await timed(() => plugin.echo('polling'));
          if (spawns().length === before) expect(outcome.ms).toBeLessThan(FAST);
          return spawns().length > before || 'value' in outcome;
        },
        COOLDOWN + 3000,
        'the cooldown to pass',
        50,
      );
    };
    await firstAfterCooldown();
    expect(spawns()).toHaveLength(2 + MAX_RESTARTS);
    expect(client.state).toBe('unavailable');
    const again = await timed(() => plugin.echo('right after'));
    expect(codeOf(again)).toBe('PLUGWIRE_UNAVAILABLE');
    expect(again.ms).toBeLessThan(FAST);
    expect(spawns()).toHaveLength(2 + MAX_RESTARTS);

    // Fixed: the first call after the next cooldown starts it, and it answers.
    fix();
    await firstAfterCooldown();
    expect(spawns()).toHaveLength(3 + MAX_RESTARTS);
    expect(client.state).toBe('running');
    expect(shown(await timed(() => plugin.echo('fixed')))).toBe('fixed echoed');
    expect(client.stats).toMatchObject({ starts: 3 + MAX_RESTARTS, restarts: 2 + MAX_RESTARTS, failedStarts: 1 + MAX_RESTARTS, recycles: 0 });
  });

  it('10 concurrent calls share each restart: one spawn per round of calls, every call fails with PLUGWIRE_UNAVAILABLE within its timeout', async () => {
    const { plugin, client, spawns } = await crashLooping();
    for (let round = 1; round <= MAX_RESTARTS; round++) {
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => timed(() => plugin.echo(`r${round} c${i}`))));
      expect(outcomes.map(codeOf)).toEqual(Array(10).fill('PLUGWIRE_UNAVAILABLE'));
      for (const outcome of outcomes) expect(outcome.ms).toBeLessThanOrEqual(FAULT_CONFIG.timeout);
      expect(spawns()).toHaveLength(1 + round);
    }
    expect(client.state).toBe('unavailable');
    expect(client.stats.failedStarts).toBe(MAX_RESTARTS);
  });
});
