// Attack: two hosts in one process on one explicit socket path. A second connect() with
// another program used to be handed the first one's live process (its calls answered by
// the wrong plugin), and its term() or failed contract check then killed that process.
// Only the same program (command, arguments, environment, directory) is reused; anything
// else fails with PLUGWIRE_START and leaves the first host's plugin alone.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { connect, Method, Plugin, PluginError, startWithCommand, stub, type CommandOptions, type Connection } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { collectingLogger, fixture, pidAlive, rejectionOf, removeDir, tempDir } from '../support/host-helpers';

let dir: string;
let count = 0;
const open: Array<Connection<HostTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

/** A contract that host-plugin does not serve: its check fails. */
@Plugin('elsewhere')
class Elsewhere {
  @Method('/elsewhere')
  elsewhere(): Promise<string> {
    return stub();
  }
}

function hostPlugin(name: string, options: Omit<CommandOptions, 'logger' | 'name'> = {}, args: readonly string[] = []) {
  return startWithCommand(process.execPath, [fixture('host/host-plugin'), ...args], { ...options, name, logger: collectingLogger() });
}

describe('two connect() calls on one explicit socket path', () => {
  it.each([
    ['another environment', { env: { HOST_FIXTURE_MARK: 'second' } }, []],
    ['other arguments', {}, ['--second']],
    ['another working directory', { cwd: path.dirname(fixture('host/host-plugin')) }, []],
  ] as const)('refuse a second program (%s) with PLUGWIRE_START, and leave the first host and its plugin alone', async (_what, options, args) => {
    const socket = path.join(dir, `s${++count}.sock`);
    const first = await connect(HostTest, hostPlugin('first', { env: { HOST_FIXTURE_MARK: 'first' } }), { socket });
    open.push(first);
    const pid = first.client.pid!;

    const error = await rejectionOf(connect(HostTest, hostPlugin('second', options, args), { socket }));
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect((error as Error).message).toContain(`plugin second cannot listen on ${socket}: another process is already listening on it (plugin first, pid ${pid}`);

    expect(pidAlive(pid)).toBe(true);
    expect(existsSync(socket)).toBe(true);
    await expect(first.plugin.env('HOST_FIXTURE_MARK')).resolves.toBe('first');
    expect(first.client.pid).toBe(pid);
    expect(first.client.stats.restarts).toBe(0);
  });

  it('share the process of the same program, started with an equal (not the same) starter', async () => {
    const socket = path.join(dir, `s${++count}.sock`);
    const first = await connect(HostTest, hostPlugin('first', { env: { HOST_FIXTURE_MARK: 'same', UNSET: undefined } }), { socket });
    open.push(first);
    const second = await connect(HostTest, hostPlugin('second', { env: { HOST_FIXTURE_MARK: 'same' } }), { socket });
    open.push(second);
    expect(second.client.pid).toBe(first.client.pid);
    await expect(second.plugin.pid()).resolves.toBe(first.client.pid);
  });

  it("share it without taking it from each other: the second host's failed contract check and the second's term() leave the first host's plugin running", async () => {
    const socket = path.join(dir, `s${++count}.sock`);
    const first = await connect(HostTest, hostPlugin('first'), { socket });
    open.push(first);
    const pid = first.client.pid!;

    const error = await rejectionOf(connect(Elsewhere, hostPlugin('first'), { socket }));
    expect(PluginError.is(error, 'PLUGWIRE_CONTRACT')).toBe(true);
    expect(pidAlive(pid)).toBe(true);

    const second = await connect(HostTest, hostPlugin('first'), { socket });
    expect(second.client.pid).toBe(pid);
    await second.term();
    expect(pidAlive(pid)).toBe(true);
    await expect(first.plugin.pid()).resolves.toBe(pid);
    expect(first.client.stats.restarts).toBe(0);

    // The last holder's term() ends it.
    await first.term();
    expect(pidAlive(pid)).toBe(false);
  });
});
