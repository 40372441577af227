// The chaos loop of the soak run (bench/soak.ts): at random, it kills the plugin
// (SIGKILL), freezes it for a while (SIGSTOP, SIGCONT), deletes its socket file or does
// nothing; and, at times drawn from the same seed, it wedges the plugin in a busy loop
// (bench/soak-wedge.ts) and floods it (bench/soak-flood.ts). One action at a time: a
// wedge or a flood is judged with nothing else going on but the callers.
import { unlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { flood, type FloodResult, type FloodTarget } from './soak-flood';
import { signalPlugin } from './soak-process';
import { int, type Random } from './soak-random';
import { WEDGE_BOUND, wedgeOnce, type WedgeCounts } from './soak-wedge';

/** Time a flood needs before the run's end, ms: through the client, then raw. */
const FLOOD_ROOM = 6000;

/** What the random actions of the chaos loop did. */
export interface ChaosCounts {
  kill: number;
  stop: number;
  unlink: number;
  nothing: number;
  /** Kills made while a stream was under way (it delivered items and had not ended). */
  killMidStream: number;
  /** Actions that found nothing to act on (no live plugin, no socket file). */
  skipped: number;
}

/** What the chaos acts on, and where it reports. */
export interface ChaosTarget extends FloodTarget {
  /** Streams that delivered an item and have not ended. */
  streamsUnderWay(): number;
  /** Where the plugin notes that it wedged. */
  readonly wedgeLog: string;
  /** How long a call may take to settle: its timeout and a grace, ms. */
  readonly settleMs: number;
  readonly counts: ChaosCounts;
  readonly wedges: WedgeCounts;
  readonly floods: FloodResult[];
  /** What went wrong in a wedge or a flood, one line each. */
  readonly failures: string[];
}

/**
 * Runs the chaos until `signal` fires. A wedge or a flood under way is finished first
 * (each is bounded), and neither starts too close to `endsAt` to finish before it.
 *
 * @param random - the chaos's own generator
 * @param signal - fires at the end of the run
 * @param endsAt - when the run ends (performance.now())
 * @param target - what to act on and where to count
 */
export async function chaos(random: Random, signal: AbortSignal, endsAt: number, target: ChaosTarget): Promise<void> {
  const { counts } = target;
  const pause = (ms: number): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined);
  const start = performance.now();
  // The first wedge early and the first flood mid-way through a 20 s run; then one each
  // every 15 to 30 s of a longer one.
  let nextWedge = start + int(random, 2000, 5000);
  let nextFlood = start + int(random, 9000, 12_000);
  while (!signal.aborted) {
    // Shorter pauses than before the wedge and the flood joined, which take about 8 s of a
    // 20 s run: the kills, freezes and deleted sockets stay about as many as they were.
    await pause(int(random, 300, 1500));
    if (signal.aborted) return;
    const now = performance.now();
    if (now >= nextWedge && endsAt - now >= WEDGE_BOUND) {
      await wedgeOnce(target.plugin, target.wedgeLog, `wedge-${target.wedges.tried + 1}`, target.settleMs, target.wedges, target.failures);
      nextWedge = performance.now() + int(random, 15_000, 25_000);
      continue;
    }
    if (now >= nextFlood && endsAt - now >= FLOOD_ROOM) {
      target.floods.push(await flood(target, target.floods.length + 1, target.failures));
      nextFlood = performance.now() + int(random, 20_000, 30_000);
      continue;
    }
    const r = random();
    if (r < 0.25) {
      // A kill waits a little for a stream under way, so that every run cuts streams mid-way.
      for (let waited = 0; target.streamsUnderWay() === 0 && waited < 300 && !signal.aborted; waited += 5) await pause(5);
      if (target.streamsUnderWay() > 0) counts.killMidStream++;
    }
    const pid = target.client.pid;
    if (r < 0.25) {
      if (signalPlugin(pid, 'SIGKILL')) counts.kill++;
      else counts.skipped++;
    } else if (r < 0.5) {
      if (signalPlugin(pid, 'SIGSTOP')) {
        counts.stop++;
        // Cut short when the run ends: the plugin is never left frozen.
        await pause(int(random, 100, 1500));
        signalPlugin(pid, 'SIGCONT');
      } else counts.skipped++;
    } else if (r < 0.75) {
      try {
        unlinkSync(target.socket);
        counts.unlink++;
      } catch {
        counts.skipped++;
      }
    } else {
      counts.nothing++;
    }
  }
}
