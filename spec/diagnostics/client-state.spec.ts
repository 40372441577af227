// What a host can read off its client, as docs/observability.md documents it: `state`, `pid`, `stats`,
// and the notices the `logger` option gets, through a kill, a failed restart, a restart
// that works, a give-up and term(), with setup-plugin as a real process.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, DiagnosticChannels, PluginError, startWithCommand, type Connection, type PluginLogger, type Starter } from '../../lib';
import { SetupTest } from '../fixtures/contracts/setup-contract';
import { collectingLogger, fixtureStarter, rejectionOf, within, type CollectingLogger } from '../support/host-helpers';

/** A starter that uses the given ones in turn, the last one for every further start. */
function inTurn(...starters: [Starter, ...Starter[]]): Starter {
  let starts = 0;
  return { name: starters[0].name, start: (context) => (starters[Math.min(starts++, starters.length - 1)] as Starter).start(context) };
}

/** A plugin under setup-plugin's name that exits 1 before it is ready. */
const broken = (): Starter => startWithCommand(process.execPath, ['-e', 'process.exit(1)'], { name: 'setup-plugin', logger: false });

/** Kills the plugin with SIGKILL and resolves once its client has seen it exit. */
async function kill(connection: Connection<SetupTest>): Promise<number> {
  const pid = connection.client.pid as number;
  let onExit!: (message: unknown) => void;
  const exited = new Promise<void>((resolve) => {
    onExit = (message) => {
      if ((message as { pid?: number }).pid === pid) resolve();
    };
  });
  subscribe(DiagnosticChannels.pluginExit, onExit);
  try {
    process.kill(pid, 'SIGKILL');
    await within(exited, 10_000, `the exit of ${pid}`);
  } finally {
    unsubscribe(DiagnosticChannels.pluginExit, onExit);
  }
  return pid;
}

describe('client.state, client.pid, client.stats and the logger through a crash, a failed restart and a restart', () => {
  let connection: Connection<SetupTest>;
  let logger: CollectingLogger;

  beforeAll(async () => {
    logger = collectingLogger();
    connection = await connect(SetupTest, inTurn(fixtureStarter('diagnostics/setup-plugin').starter, broken(), fixtureStarter('diagnostics/setup-plugin').starter), {
      logger,
      restart: { maxRestarts: 2, initialDelay: 10 },
    });
  });

  afterAll(async () => {
    await connection?.term();
  });

  it('runs: state running, the pid of the process, one start', async () => {
    const { client, plugin } = connection;
    expect(client.state).toBe('running');
    await expect(plugin.header('x-none')).resolves.toBeNull();
    expect(client.pid).toEqual(expect.any(Number));
    expect(client.stats).toMatchObject({ starts: 1, restarts: 0, failedStarts: 0, recycles: 0 });
    expect(logger.errors).toEqual([]);
  });

  it('is exited once the process is gone, keeps the last pid, and tells the logger', async () => {
    const pid = await kill(connection);
    expect(connection.client.state).toBe('exited');
    // The pid of the last process started, until a start replaces it.
    expect(connection.client.pid).toBe(pid);
    expect(logger.errors).toEqual(['[setup-plugin] plugin is gone (killed by SIGKILL); it is restarted at the next call']);
  });

  it('counts a failed restart, stays exited, and tells the logger it tries again', async () => {
    const error = await rejectionOf(connection.plugin.wait(1));
    expect(PluginError.is(error, 'PLUGWIRE_UNAVAILABLE')).toBe(true);
    expect(connection.client.state).toBe('exited');
    expect(connection.client.stats).toMatchObject({ starts: 2, restarts: 1, failedStarts: 1, recycles: 0 });
    expect(logger.errors.slice(1)).toEqual([
      expect.stringMatching(/^\[setup-plugin\] restart failed: plugin setup-plugin exited before it was ready \(code 1\)[\s\S]*; it is tried again at the next call$/),
    ]);
  });

  it('runs again after the next restart, with a new pid', async () => {
    const before = connection.client.pid;
    await expect(connection.plugin.wait(1)).resolves.toBe('waited 1');
    expect(connection.client.state).toBe('running');
    expect(connection.client.pid).toEqual(expect.any(Number));
    expect(connection.client.pid).not.toBe(before);
    expect(connection.client.stats).toMatchObject({ starts: 3, restarts: 2, failedStarts: 1, recycles: 0 });
    expect(logger.errors).toHaveLength(2);
  });

  it('is closed after term()', async () => {
    await connection.term();
    expect(connection.client.state).toBe('closed');
    expect(PluginError.is(await rejectionOf(connection.plugin.wait(1)), 'PLUGWIRE_CLOSED')).toBe(true);
  });
});

describe('client.state when the client gives up', () => {
  let connection: Connection<SetupTest>;
  const notices: string[] = [];
  const logger: PluginLogger = { log: (line) => notices.push(`log: ${line}`), error: (line) => notices.push(line) };

  beforeAll(async () => {
    connection = await connect(SetupTest, inTurn(fixtureStarter('diagnostics/setup-plugin').starter, broken()), {
      logger,
      restart: { maxRestarts: 1, cooldown: 60_000 },
    });
  });

  afterAll(async () => {
    await connection?.term();
  });

  it('is unavailable after the last failed restart; calls then fail at once without a start', async () => {
    await kill(connection);
    expect(PluginError.is(await rejectionOf(connection.plugin.wait(1)), 'PLUGWIRE_UNAVAILABLE')).toBe(true);
    expect(connection.client.state).toBe('unavailable');
    expect(notices).toEqual([
      '[setup-plugin] plugin is gone (killed by SIGKILL); it is restarted at the next call',
      expect.stringMatching(/^\[setup-plugin\] restart failed: .*; given up after 1 restart without a successful call: calls fail for 60000 ms$/s),
    ]);

    const error = await rejectionOf(connection.plugin.wait(1));
    expect(PluginError.is(error, 'PLUGWIRE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/was given up on after 1 restarts without a successful call; next try in \d+ ms/);
    expect(connection.client.stats).toMatchObject({ starts: 2, restarts: 1, failedStarts: 1, recycles: 0 });
  });
});
