// connect() to a plugin that prints its ready line and then dies (its later start-up
// fails: a rejected promise, a process.exit()), every time it is started: a failed start,
// with the plugin's last words, rather than a call that failed on an internal route. And
// to one that prints it but accepts no connection, which the host ends itself: a failed
// start too, that says so, rather than a death of the plugin's own.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect, PluginError, spawnCommand, StartError } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { collectingLogger, fixture, fixtureStarter, pidAlive, rejectionOf, removeDir, tempDir, waitFor } from '../support/host-helpers';

const FAST = { timeout: 5000, restart: { initialDelay: 10, maxDelay: 20 } };

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

function startedPids(counter: string): number[] {
  return readFileSync(counter, 'utf8').trim().split('\n').map(Number);
}

describe('connect() to a plugin that dies right after it became ready', () => {
  it('rejects with a StartError (exited) that carries its exit code and its standard error', async () => {
    const counter = path.join(dir, 'counter-1');
    const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_DIE_AFTER_READY: 'database unreachable', HOST_FIXTURE_COUNTER: counter } });
    const error = await rejectionOf(connect(HostTest, starter, FAST));

    expect(error).toBeInstanceOf(StartError);
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    const start = error as StartError;
    expect(start.reason).toBe('exited');
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toContain('database unreachable');
    expect(start.message).toContain("plugin host-plugin exited with code 1 after it printed 'plugin is ready', before it answered a call");
    expect(start.message).toMatch(/its standard error:\n {2}database unreachable/);
    expect(start.message).not.toContain('/.plugwire/manifest');
    // Nothing is left running.
    const pids = startedPids(counter);
    expect(pids.length).toBeGreaterThan(1);
    await waitFor(() => pids.every((pid) => !pidAlive(pid)), 5000, 'every process it started to be gone');
  });

  it('keeps its standard error for the error even when nothing is logged (logger: false)', async () => {
    const starter = spawnCommand(process.execPath, [fixture('host/host-plugin')], { logger: false, env: { HOST_FIXTURE_DIE_AFTER_READY: 'config file missing' } });
    const error = await rejectionOf(connect(HostTest, starter, FAST));
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).stderr).toContain('config file missing');
  });
});

describe('connect() to a plugin that prints its ready line but accepts no connection', () => {
  it.each([
    ['never listens (it printed the line too early)', 'never'],
    ['closes its listener once it printed the line', 'stops'],
  ])('that %s: a StartError (socket) that says so, and the host ending it is logged as such, not as a crash', async (_what, mode) => {
    const counter = path.join(dir, `counter-${mode}`);
    const { starter } = fixtureStarter('host/ready-not-listening', { env: { READY_NOT_LISTENING: mode, HOST_FIXTURE_COUNTER: counter } });
    const logger = collectingLogger();
    const error = await rejectionOf(connect(HostTest, starter, { ...FAST, liveness: false, logger }));

    expect(error).toBeInstanceOf(StartError);
    const start = error as StartError;
    expect(start.reason).toBe('socket');
    expect(start.message).toMatch(
      /^plugin ready-not-listening printed 'plugin is ready' but did not accept connections on its socket, so the host ended it before it answered a call \(started \d+ times\): check that it listens on its socket before it prints 'plugin is ready', and goes on listening$/,
    );
    // The host's SIGTERM is no death of the plugin's own.
    expect(logger.errors.length).toBeGreaterThan(0);
    for (const line of logger.errors) expect(line).toMatch(/^\[ready-not-listening\] plugin is gone \(it stopped accepting connections\)/);
    const pids = startedPids(counter);
    expect(pids.length).toBeGreaterThan(1);
    await waitFor(() => pids.every((pid) => !pidAlive(pid)), 5000, 'every process it started to be gone');
  });
});
