// Attack: a plugin that writes without newlines. Its output was collected into one line
// without bound (300 MB of output, +366 MB in the host; at 600 MB the host died), even
// with `logger: false`. A line is cut to 64 KiB, its middle left out and marked; output
// nobody reads is drained and dropped.
import * as path from 'node:path';
import { start, type StartResult } from '../../lib';
import { fixture, fixtureStarter, removeDir, spawnNode, tempDir, waitFor, within } from '../support/host-helpers';

const CAP = 64 * 1024;
const FLOOD = 3 * 1024 * 1024 + 5;
const MARK = `…[line cut: ${FLOOD - CAP} characters left out]…`;

let dir: string;
const started: StartResult[] = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.term()));
});

afterAll(() => removeDir(dir));

describe('plugin output without newlines', () => {
  it.each(['stdout', 'stderr'] as const)('on %s: a line is cut to 64 KiB and marked, and the lines after it arrive whole', async (stream) => {
    const { starter, logger } = fixtureStarter('host/attack-host-flood');
    const result = await start(starter, path.join(dir, `${stream}.sock`));
    started.push(result);
    await expect(result.client.call('/flood', [FLOOD, stream])).resolves.toBe(FLOOD);
    const lines = stream === 'stdout' ? logger.lines : logger.errors;
    await waitFor(() => lines.includes('[attack-host-flood] flood done'), 10_000, 'the line after the flood');
    expect(lines.map((line) => line.length)).toEqual([`[attack-host-flood] `.length + CAP + MARK.length, '[attack-host-flood] flood done'.length]);
    // Its first and its last 4 KiB are kept, around the mark.
    expect(lines[0] === `[attack-host-flood] ${'x'.repeat(CAP - 4096)}${MARK}${'x'.repeat(4096)}`).toBe(true);
  });

  it('with logger false: the host drains 2 x 256 MB without keeping it (peak memory grows far less than the output)', async () => {
    const MB = 256;
    const host = spawnNode([fixture('host/attack-host-flood-host'), String(MB * 1024 * 1024)]);
    const line = await within(host.line(/^peak \d+ \d+$/), 60_000, 'the host to report its peak memory');
    const [before, after] = line.split(' ').slice(1).map(Number) as [number, number];
    expect(await within(host.exited, 20_000, 'the host to exit')).toEqual({ code: 0, signal: null });
    expect(host.stderr()).toBe('');
    // Kept, the output would add at least 256 MB; drained, it adds what a few chunks and
    // the garbage collector's slack take.
    expect((after - before) / 1024).toBeLessThan(MB / 2);
  }, 90_000);
});
