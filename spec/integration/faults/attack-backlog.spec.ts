// Attack: a frozen plugin whose accept backlog is full. Connecting then fails with EAGAIN,
// which means "busy", never "gone": a call must wait for the plugin until its timeout
// (PLUGWIRE_TIMEOUT, not a malformed answer), and the liveness probe must count the
// socket as listening, so that term() of a host attached with startRunning() does not
// remove a busy service's socket file.
import { existsSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import * as path from 'node:path';
import { connect, start, startRunning, type Connection } from '../../../lib';
import { HostTest } from '../../fixtures/contracts/host-contract';
import { codeOf, shown, timed } from '../../support/fault-helpers';
import { fixtureStarter, removeDir, tempDir } from '../../support/host-helpers';

let dir: string;
let connection: Connection<HostTest> | undefined;
const fillers: Socket[] = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  for (const socket of fillers.splice(0)) socket.destroy();
  if (connection?.client.pid !== undefined) process.kill(connection.client.pid, 'SIGCONT');
  await connection?.term();
  connection = undefined;
});

afterAll(() => removeDir(dir));

/** One raw connection: 'connected' once it is queued, or the code it failed with. */
function connectOnce(socket: string): Promise<string> {
  return new Promise((resolve) => {
    const client = netConnect(socket);
    client.once('connect', () => {
      fillers.push(client);
      resolve('connected');
    });
    client.once('error', (error: NodeJS.ErrnoException) => {
      client.destroy();
      resolve(error.code ?? error.message);
    });
  });
}

/** Connects until the backlog of the stopped plugin is full: the next connection fails with EAGAIN. */
async function fillBacklog(socket: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const outcome = await connectOnce(socket);
    if (outcome === 'EAGAIN') return;
    expect(outcome).toBe('connected');
  }
  throw new Error('the backlog never filled');
}

describe('a frozen plugin with a full accept backlog', () => {
  it('is busy, not gone: a call times out with PLUGWIRE_TIMEOUT, and term() of a startRunning() host leaves the socket file', async () => {
    const socket = path.join(dir, 'busy.sock');
    // The plugin stays stopped for as long as filling its backlog takes, which may pass the
    // liveness policy's 1.5 s of unanswered probes on a loaded machine; a replacement would
    // take away the stopped plugin this test is about: liveness is off for both hosts.
    const options = { socket, timeout: 5000, restart: { initialDelay: 10, maxDelay: 50 }, liveness: false } as const;
    connection = await connect(HostTest, fixtureStarter('host/host-plugin').starter, options);
    const attached = await start(startRunning({ name: 'service' }), socket, { liveness: false });
    const pid = connection.client.pid!;

    process.kill(pid, 'SIGSTOP');
    await fillBacklog(socket);

    // A host with no connection open yet must connect, into the full backlog.
    const outcome = await timed(() => attached.client.call('/echo', 'busy', { timeout: 300 }));
    expect(shown(outcome)).toBe('PLUGWIRE_TIMEOUT: call to /echo timed out after 300 ms');
    expect(codeOf(outcome)).toBe('PLUGWIRE_TIMEOUT');

    await attached.term();
    expect(existsSync(socket)).toBe(true);
    expect(connection.client.pid).toBe(pid);
    expect(connection.client.stats.restarts).toBe(0);

    // Thawed, the same process answers.
    for (const filler of fillers.splice(0)) filler.destroy();
    process.kill(pid, 'SIGCONT');
    await expect(connection.plugin.echo('thawed')).resolves.toBe('thawed echoed');
    expect(connection.client.pid).toBe(pid);
  });
});
