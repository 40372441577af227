// connect() to a plugin that prints its ready line and then dies (its later start-up
// fails: a rejected promise, a process.exit()), every time it is started: a failed start,
// with the plugin's last words, rather than a call that failed on an internal route.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect, PluginError, spawnCommand, StartError } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { fixture, fixtureStarter, pidAlive, rejectionOf, removeDir, tempDir, waitFor } from '../support/host-helpers';

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
