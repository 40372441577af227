// Fault: many start / call / term() cycles in a row must not leak. 1,000 cycles with the
// command starter (a minimal node:http plugin, so that a cycle costs Node's start-up
// only) and 1,000 with startWithProvider; after a few warm-up cycles nothing the host
// holds may grow: open file descriptors, child processes, plugwire-* temporary
// directories, process listeners. The cycles run in a host process of its own
// (fault-cycles-host) with TMPDIR pointing at a private directory, so that nothing else
// (this jest worker, a spec running in parallel) is counted.
import { readdirSync } from 'node:fs';
import { fixture, removeDir, spawnNode, tempDir } from '../../support/host-helpers';
import type { Holdings } from '../../fixtures/faults/fault-cycles-host';

const CYCLES = 1000;
/** Descriptors that may come and go (a pipe not yet closed, a timer's handle). */
const FD_SLACK = 2;

interface Report {
  readonly mode: string;
  readonly cycles: number;
  readonly ms: number;
  readonly failures: readonly string[];
  readonly failureCount: number;
  readonly baseline: Holdings;
  readonly after: Holdings;
}

let tmp: string;

beforeAll(() => {
  tmp = tempDir();
});

afterAll(() => removeDir(tmp));

async function runCycles(mode: 'command' | 'provider'): Promise<Report> {
  const host = spawnNode([fixture('faults/fault-cycles-host'), mode, String(CYCLES)], { TMPDIR: tmp });
  const { code } = await host.exited;
  expect({ code, stderr: host.stderr() }).toEqual({ code: 0, stderr: '' });
  const line = host.lines.find((l) => l.startsWith('{'));
  expect(line).toBeDefined();
  return JSON.parse(line ?? '{}') as Report;
}

function expectNoGrowth(report: Report): void {
  expect({ failures: report.failures, count: report.failureCount }).toEqual({ failures: [], count: 0 });
  expect(report.cycles).toBe(CYCLES);
  expect(report.after.fds).toBeLessThanOrEqual(report.baseline.fds + FD_SLACK);
  expect(report.after.children).toBeLessThanOrEqual(report.baseline.children);
  expect(report.after.tmp).toBeLessThanOrEqual(report.baseline.tmp);
  expect(report.after.tmp).toBe(0);
  expect(report.after.listeners).toEqual(report.baseline.listeners);
  // And nothing left in the private temporary directory itself but the compile cache a
  // plugin gets on Node >= 22.1 (spawnCommand), which is kept across starts on purpose.
  expect(readdirSync(tmp).filter((name) => !name.startsWith('plugwire-compile-cache-'))).toEqual([]);
}

describe(`${CYCLES} start / call / term() cycles in a row`, () => {
  it(
    `with startWithCommand: every call answered, and no growth in descriptors (+${FD_SLACK} at most), child processes, plugwire-* temporary directories or process listeners`,
    async () => {
      const report = await runCycles('command');
      expectNoGrowth(report);
      expect(report.after.children).toBe(0);
    },
    300_000,
  );

  it(`with startWithProvider (in-process): every call answered, and no growth in descriptors (+${FD_SLACK} at most), plugwire-* temporary directories or process listeners`, async () => {
    const report = await runCycles('provider');
    expectNoGrowth(report);
  });
});
