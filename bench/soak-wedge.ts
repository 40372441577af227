// The wedge of the soak's chaos (bench/soak-chaos.ts): a call to the plugin's /wedge puts
// the process in a busy loop (its event loop blocked for good, the process alive), and the
// soak times how long the client's liveness check takes to replace it: the wedged process
// gone, and a new one answering. Nothing here helps the client find it: the soak only
// watches (the callers' own calls time out meanwhile, as a host's would).
import { performance } from 'node:perf_hooks';
import { PluginError, withOptions, type Remote } from '../lib';
import { waitFor, within } from '../spec/support/host-helpers';
import type { Soak } from './soak-contract';
import { isLiveChild, readLines, signalPlugin } from './soak-process';

/** A wedged plugin not replaced and answering again within this long fails the run, ms. */
export const WEDGE_BOUND = 10_000;
/** How long the /wedge call may take to reach a plugin, ms (it may wait for a restart). */
const WEDGE_REACH = 5_000;

/** What the wedges of a run did. */
export interface WedgeCounts {
  /** /wedge calls made. */
  tried: number;
  /** Plugin processes that wedged (they wrote their pid to the wedge log). */
  wedged: number;
  /** Wedged processes gone, and a new process answering, within {@link WEDGE_BOUND}. */
  replaced: number;
  /** Wedged processes still there after {@link WEDGE_BOUND}: the soak killed them itself. */
  notReplaced: number;
  /** /wedge calls that reached no plugin (it was not wedged). */
  missed: number;
  /** For each replaced wedge: ms from the wedge to the wedged process gone. */
  readonly goneMs: number[];
  /** For each replaced wedge: ms from the wedge to a call answered by a new process. */
  readonly answeringMs: number[];
  /** How the /wedge calls settled: by error code, or `answered` (wrong: a wedge never answers). */
  readonly callOutcomes: Record<string, number>;
  /** /wedge calls not settled once their wedge was over. */
  unsettled: number;
}

/** Counts with nothing done yet. */
export function noWedges(): WedgeCounts {
  return { tried: 0, wedged: 0, replaced: 0, notReplaced: 0, missed: 0, goneMs: [], answeringMs: [], callOutcomes: {}, unsettled: 0 };
}

/**
 * Wedges the plugin once and waits (at most {@link WEDGE_BOUND}) for the client to replace it.
 *
 * @param plugin - the soak's plugin proxy
 * @param log - the wedge log the plugin writes `<pid> <epoch ms>` to as it wedges
 * @param id - the /wedge call's id
 * @param settleMs - how long the /wedge call may take to settle (its timeout and a grace)
 * @param counts - updated
 * @param failures - a line is added for a wedge not replaced in time, or a /wedge call answered or left pending
 */
export async function wedgeOnce(plugin: Remote<Soak>, log: string, id: string, settleMs: number, counts: WedgeCounts, failures: string[]): Promise<void> {
  counts.tried++;
  const seen = readLines(log).length;
  let settled = false;
  const call = plugin.wedge(id).then(
    (answer) => {
      failures.push(`/wedge ${id} was answered (${JSON.stringify(answer)}): a wedged plugin cannot answer`);
      return 'answered';
    },
    (error: unknown) => (PluginError.is(error) ? error.code : '(no code)'),
  );
  void call.then((outcome) => {
    settled = true;
    counts.callOutcomes[outcome] = (counts.callOutcomes[outcome] ?? 0) + 1;
  });

  let line: string | undefined;
  await waitFor(
    () => {
      line = readLines(log)[seen];
      return line !== undefined || settled;
    },
    WEDGE_REACH,
    'the /wedge call to reach a plugin',
    10,
  ).catch(() => undefined);
  const [pidText, atText] = (line ?? '').split(' ');
  const wedgedPid = Number(pidText);
  const wedgedAt = Number(atText);
  if (line === undefined || !(wedgedPid > 0) || !(wedgedAt > 0)) {
    counts.missed++;
  } else {
    counts.wedged++;
    await replaced(plugin, wedgedPid, wedgedAt, counts, failures);
  }
  if (!(await within(call, settleMs, `/wedge ${id} to settle`).then(() => true, () => false))) {
    counts.unsettled++;
    failures.push(`/wedge ${id} did not settle within ${settleMs} ms`);
  }
}

/** Waits for the wedged process to be gone and a new one to answer; kills it past the bound. */
async function replaced(plugin: Remote<Soak>, wedgedPid: number, wedgedAt: number, counts: WedgeCounts, failures: string[]): Promise<void> {
  const deadline = wedgedAt + WEDGE_BOUND;
  const left = (): number => Math.max(0, deadline - Date.now());
  // Only watched: a call made now would time out and set the liveness check off sooner.
  const gone = await waitFor(() => !isLiveChild(wedgedPid), left(), `wedged pid ${wedgedPid} to be gone`, 10).then(
    () => Date.now() - wedgedAt,
    () => undefined,
  );
  let answering: number | undefined;
  if (gone !== undefined) {
    while (answering === undefined && left() > 0) {
      const started = performance.now();
      const pid = await withOptions(plugin, { timeout: Math.max(1, left()) })
        .pid()
        .catch(() => undefined);
      if (pid !== undefined && pid !== wedgedPid) answering = Date.now() - wedgedAt;
      // A call refused at once (the restart's back-off): not a busy loop of calls.
      else if (performance.now() - started < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  if (gone !== undefined && answering !== undefined) {
    counts.replaced++;
    counts.goneMs.push(gone);
    counts.answeringMs.push(answering);
    return;
  }
  counts.notReplaced++;
  failures.push(
    `the wedged plugin (pid ${wedgedPid}) was not replaced within ${WEDGE_BOUND} ms: ` +
      (gone === undefined ? 'it still ran (killed by the soak)' : `it was gone after ${gone} ms, but no new process answered`),
  );
  signalPlugin(wedgedPid, 'SIGKILL');
}
