// Attack: a plugin that starts fine and then dies at every call. Each death before any
// call succeeded counts as a failed start, so restarts back off and the plugin is given up
// on after restart.maxRestarts, instead of being forked again at every call for ever.
import * as path from 'node:path';
import { connect, PluginError, startWithCommand, type Connection } from '../../../lib';
import { HostTest } from '../../fixtures/contracts/host-contract';
import { codeOf, timed } from '../../support/fault-helpers';
import { collectingLogger, countLines, fixture, removeDir, tempDir } from '../../support/host-helpers';

const MAX_RESTARTS = 3;
const COOLDOWN = 60_000;

let dir: string;
const open: Array<Connection<HostTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

describe('a plugin that dies at every call', () => {
  it(`is restarted at most ${MAX_RESTARTS} times, then given up on: later calls fail fast with PLUGWIRE_UNAVAILABLE and spawn nothing`, async () => {
    const counter = path.join(dir, 'spawns.txt');
    const logger = collectingLogger();
    const starter = startWithCommand(process.execPath, [fixture('host/host-plugin')], { env: { HOST_FIXTURE_COUNTER: counter }, logger });
    const connection = await connect(HostTest, starter, {
      socket: path.join(dir, 'fork.sock'),
      timeout: 5000,
      terminationGrace: 1000,
      logger,
      restart: { maxRestarts: MAX_RESTARTS, initialDelay: 10, maxDelay: 40, cooldown: COOLDOWN },
    });
    open.push(connection);
    const { plugin, client } = connection;
    expect(countLines(counter)).toBe(1);

    // Far more calls than restarts are allowed: each may cost at most one spawn until the give-up.
    const outcomes = [];
    for (let i = 0; i < 4 * MAX_RESTARTS; i++) outcomes.push(await timed(() => plugin.die()));
    for (const outcome of outcomes) expect(codeOf(outcome)).toBe('PLUGWIRE_UNAVAILABLE');

    expect(client.state).toBe('unavailable');
    expect(countLines(counter)).toBe(1 + MAX_RESTARTS);
    expect(client.stats.restarts).toBe(MAX_RESTARTS);
    expect(logger.errors.some((line) => line.includes(`given up after ${MAX_RESTARTS} restarts without a successful call`))).toBe(true);

    // Given up: a call neither spawns nor waits.
    const late = await timed(() => plugin.echo('late'));
    expect(codeOf(late)).toBe('PLUGWIRE_UNAVAILABLE');
    expect('error' in late && PluginError.is(late.error) && late.error.message).toMatch(/given up on after 3 restarts/);
    expect(countLines(counter)).toBe(1 + MAX_RESTARTS);
  });
});
