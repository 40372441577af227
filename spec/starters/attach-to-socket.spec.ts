// attachToSocket(): a start that waits for the socket (bounded by startTimeout, ended by
// the client's signal, woken by the directory's changes, probing with a back-off), and the
// token from a file, read at each start. The whole host under a container runtime that
// restarts the plugin is spec/integration/faults/sidecar.spec.ts.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import * as path from 'node:path';
import { attachToSocket, PluginError, StartError, TOKEN_FILE_ENV, type StartContext } from '../../lib';
import { waitUntilListening } from '../../lib/socket/wait-listening';
import { rejectionOf, removeDir, tempDir, thrownBy, waitFor, within } from '../support/host-helpers';

let dir: string;
let count = 0;
const servers: Server[] = [];

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  removeDir(dir);
});

function socketPath(): string {
  return path.join(dir, `a${++count}.sock`);
}

function listen(socket: string): Promise<Server> {
  const server = createServer((connection) => connection.destroy());
  servers.push(server);
  return new Promise((resolve) => server.listen(socket, () => resolve(server)));
}

function context(socket: string, startTimeout: number, signal = new AbortController().signal): StartContext {
  return { socket, startTimeout, terminationGrace: 100, signal, token: 'made-by-the-client' };
}

/** How many timers and file watchers this process has. */
function handles(): { timers: number; watchers: number } {
  const info = process.getActiveResourcesInfo();
  return { timers: info.filter((r) => r === 'Timeout').length, watchers: info.filter((r) => r === 'FSEventWrap').length };
}

/**
 * Waits until there are no more timers and watchers than `before` (a closed watcher goes
 * a few ticks later); the spec's own timers (jest's, the last test's) may have gone meanwhile.
 */
async function handlesBackTo(before: { timers: number; watchers: number }): Promise<void> {
  const back = (): boolean => handles().timers <= before.timers && handles().watchers <= before.watchers;
  await waitFor(back, 1000, 'the timers and watchers of the wait to be gone', 5).catch(() => undefined);
  expect(handles().watchers).toBeLessThanOrEqual(before.watchers);
  expect(handles().timers).toBeLessThanOrEqual(before.timers);
}

async function timedStart(starter: ReturnType<typeof attachToSocket>, ctx: StartContext): Promise<{ outcome: unknown; ms: number }> {
  const began = performance.now();
  const outcome = await starter.start(ctx).catch((error: unknown) => error);
  return { outcome, ms: performance.now() - began };
}

describe('attachToSocket({ wait: true })', () => {
  it('starts at once when the plugin listens already', async () => {
    const socket = socketPath();
    await listen(socket);
    const { outcome, ms } = await timedStart(attachToSocket({ wait: true }), context(socket, 5000));
    expect(outcome).toMatchObject({ token: 'made-by-the-client' });
    expect(ms).toBeLessThan(200);
  });

  it('waits for a socket that appears later, and is ready soon after it listens (woken by the directory, not the back-off)', async () => {
    const socket = socketPath();
    const before = handles();
    const starting = timedStart(attachToSocket({ wait: true }), context(socket, 5000));
    // Past the back-off's first steps (25, 50, 100, 200 ms): a probe alone would come up to 500 ms late.
    await new Promise((resolve) => setTimeout(resolve, 900));
    const listened = performance.now();
    await listen(socket);
    const { outcome, ms } = await starting;
    expect(outcome).toHaveProperty('exited');
    expect(ms).toBeGreaterThanOrEqual(850);
    // The watcher's event brings the next probe at once; 250 ms leaves room for a loaded machine.
    expect(performance.now() - listened).toBeLessThan(250);
    await handlesBackTo(before);
  });

  it('waits while a file that nobody listens on is there (a stale socket, a file before listen), and starts once it listens', async () => {
    const socket = socketPath();
    writeFileSync(socket, '');
    const starting = timedStart(attachToSocket({ wait: true }), context(socket, 5000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    unlinkSync(socket);
    await listen(socket);
    const { outcome, ms } = await starting;
    expect(outcome).toHaveProperty('exited');
    expect(ms).toBeGreaterThanOrEqual(280);
  });

  it('fails within startTimeout with StartError reason socket, saying what to check, and leaves no timer or watcher', async () => {
    const socket = socketPath();
    const before = handles();
    const { outcome, ms } = await timedStart(attachToSocket({ wait: true, name: 'modifier' }), context(socket, 400));
    expect(outcome).toBeInstanceOf(StartError);
    const error = outcome as StartError;
    expect(error).toMatchObject({ code: 'PLUGWIRE_START', reason: 'socket' });
    expect(error.message).toContain(`no plugin modifier is listening on ${socket} after 400 ms (startTimeout)`);
    expect(error.message).toMatch(/container\) running/);
    expect(error.message).toContain(`the directory ${dir} with the host through a volume`);
    expect(error.message).toMatch(/raise startTimeout/);
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(400 + 300);
    await handlesBackTo(before);
  });

  it('ends the wait at once when the client is closed (its signal fires): StartError reason aborted', async () => {
    const socket = socketPath();
    const before = handles();
    const controller = new AbortController();
    const starting = timedStart(attachToSocket({ wait: true }), context(socket, 10_000, controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 600)); // in a 500 ms pause by now
    const aborted = performance.now();
    controller.abort(new Error('closed'));
    const { outcome } = await within(starting, 2000, 'the start to end');
    expect(performance.now() - aborted).toBeLessThan(100);
    expect(outcome).toMatchObject({ code: 'PLUGWIRE_START', reason: 'aborted' });
    await handlesBackTo(before);
  });

  it('refuses a start whose signal fired already', async () => {
    const controller = new AbortController();
    controller.abort(new Error('closed'));
    const error = await rejectionOf(attachToSocket({ wait: true }).start(context(socketPath(), 5000, controller.signal)));
    expect(error).toMatchObject({ code: 'PLUGWIRE_START', reason: 'aborted' });
  });
});

describe('attachToSocket({ wait: false })', () => {
  it('fails at once when nothing listens (StartError reason socket), as before 0.2', async () => {
    const { outcome, ms } = await timedStart(attachToSocket({ wait: false }), context(socketPath(), 5000));
    expect(outcome).toMatchObject({ code: 'PLUGWIRE_START', reason: 'socket', message: expect.stringMatching(/^no plugin is listening on /) });
    expect(ms).toBeLessThan(200);
  });
});

describe('attachToSocket() by default', () => {
  it('waits for the socket, as with wait: true: nothing listens, so it fails after startTimeout, saying what to check', async () => {
    const { outcome, ms } = await timedStart(attachToSocket(), context(socketPath(), 300));
    expect(outcome).toMatchObject({ code: 'PLUGWIRE_START', reason: 'socket', message: expect.stringContaining('after 300 ms (startTimeout)') });
    expect(ms).toBeGreaterThanOrEqual(290);
  });
});

describe('waitUntilListening()', () => {
  it('probes with a back-off from 25 ms up to 500 ms: a handful of probes in a second, no busy loop', async () => {
    let probes = 0;
    const outcome = await waitUntilListening(path.join(dir, 'never.sock'), 1000, new AbortController().signal, () => {
      probes++;
      return Promise.resolve(false);
    });
    expect(outcome).toBe('timeout');
    // 0, 25, 75, 175, 375, 775, 1000 ms: 7 probes; a few more only if the directory changed.
    expect(probes).toBeGreaterThanOrEqual(6);
    expect(probes).toBeLessThanOrEqual(9);
  });

  it('still waits, by probes alone, for a socket whose directory does not exist yet', async () => {
    const socket = path.join(dir, 'later', 'p.sock');
    const waiting = waitUntilListening(socket, 5000, new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    mkdirSync(path.dirname(socket));
    await listen(socket);
    expect(await waiting).toBe('listening');
  });
});

describe('the token', () => {
  const saved = process.env[TOKEN_FILE_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[TOKEN_FILE_ENV];
    else process.env[TOKEN_FILE_ENV] = saved;
  });

  it('is read from tokenFile at each start, trimmed: a rotated secret is sent after the next start', async () => {
    const socket = socketPath();
    await listen(socket);
    const file = path.join(dir, 'token');
    writeFileSync(file, 'first-token\n');
    const starter = attachToSocket({ tokenFile: file });
    expect((await starter.start(context(socket, 1000))).token).toBe('first-token');
    writeFileSync(file, '  second-token \n');
    expect((await starter.start(context(socket, 1000))).token).toBe('second-token');
  });

  it(`is read from the file ${TOKEN_FILE_ENV} names when neither token nor tokenFile is given, and token comes first`, async () => {
    const socket = socketPath();
    await listen(socket);
    const file = path.join(dir, 'env-token');
    writeFileSync(file, 'from-the-environment\n');
    process.env[TOKEN_FILE_ENV] = file;
    expect((await attachToSocket().start(context(socket, 1000))).token).toBe('from-the-environment');
    expect((await attachToSocket({ token: 'given' }).start(context(socket, 1000))).token).toBe('given');
    delete process.env[TOKEN_FILE_ENV];
    expect((await attachToSocket().start(context(socket, 1000))).token).toBe('made-by-the-client');
  });

  it.each([
    ['missing', (file: string) => file, /cannot read the token file/],
    ['empty', (file: string) => (writeFileSync(file, ' \n'), file), /is empty/],
    ['holding a space', (file: string) => (writeFileSync(file, 'two words'), file), /characters a token cannot have/],
  ])('a token file %s fails the start at once with PLUGWIRE_DEFINITION naming the file, before any wait', async (_what, make, message) => {
    const file = make(path.join(dir, 'bad-token'));
    const began = performance.now();
    const error = await rejectionOf(attachToSocket({ tokenFile: file, wait: true }).start(context(socketPath(), 5000)));
    expect(performance.now() - began).toBeLessThan(200);
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toContain(`attachToSocket({ tokenFile }): `);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(message);
  });

  it('names the variable when the file it names is bad', async () => {
    process.env[TOKEN_FILE_ENV] = path.join(dir, 'nowhere');
    const error = await rejectionOf(attachToSocket().start(context(socketPath(), 1000)));
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^${TOKEN_FILE_ENV}: cannot read the token file`));
  });

  it('refuses token and tokenFile together, and a tokenFile that is not a path, with a TypeError at the call', () => {
    expect(thrownBy(() => attachToSocket({ token: 't', tokenFile: '/run/token' }))).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/give either token or tokenFile, not both/),
    });
    expect(thrownBy(() => attachToSocket({ tokenFile: '' }))).toBeInstanceOf(TypeError);
  });
});
