// What the built plugwire command says about the user's own arguments and about what it
// meets on --socket: an empty --socket, a --timeout past the longest timer, a path that is a
// file or a directory, a plugin that does not answer (the manifest lookup that tells a
// stream from an answer is part of the call, and of its --timeout), an answer larger than
// the command reads. The plugins here are plain node:http or node:net servers on a socket,
// so that each answers (or does not) exactly as the case needs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import * as path from 'node:path';
import { EXIT_CODES } from '../../lib/cli/exit-codes';
import { MANIFEST_ROUTE } from '../../lib/manifest/manifest';
import { TOKEN_ENV, TOKEN_FILE_ENV } from '../../lib/protocol/constants';
import { runCli, type CliOutcome } from '../support/cli';
import { removeDir, tempDir } from '../support/host-helpers';

/** One line on standard error: `plugwire: ` and the rest. */
const ONE_LINE = /^plugwire: [^\n]+\n$/;

function run(args: readonly string[]): Promise<CliOutcome> {
  return runCli(args, {}, [TOKEN_ENV, TOKEN_FILE_ENV]);
}

/** Listens on `socket` until `close()`. */
async function listening(server: Server, socket: string): Promise<{ close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        // A request held open (a plugin that does not answer) would keep close() waiting.
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

describe('plugwire: messages about the arguments and about what is on --socket', () => {
  let dir: string;
  let count = 0;
  const servers: Array<{ close: () => Promise<void> }> = [];
  const socketPath = (): string => path.join(dir, `s${++count}.sock`);

  /** A plugin without a manifest (a version 1 plugin) whose routes `answer` handles. */
  async function plugin(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const socket = socketPath();
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith(MANIFEST_ROUTE)) res.writeHead(404).end();
      else answer(req, res);
    });
    servers.push(await listening(server, socket));
    return socket;
  }

  beforeAll(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  afterAll(() => removeDir(dir));

  it("an empty --socket (an unset shell variable) is a usage error (2) saying it needs a path, for every command", async () => {
    const outcomes = await Promise.all([run(['call', '/greet', '{}', '--socket', '']), run(['inspect', '--socket', '']), run(['health', '--socket', '']), run(['inspect', '--socket='])]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '' });
      expect(outcome.stderr).toContain('--socket needs a path');
      expect(outcome.stderr).not.toContain('plugwire config');
    }
  });

  it('--timeout past the longest timer is a usage error (2) that names the limit; the limit itself is taken', async () => {
    const outcomes = await Promise.all([run(['call', '/x', '--timeout', '2147483648', '--socket', 'any.sock']), run(['health', '--timeout', '2147483648', '--socket', 'any.sock'])]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '' });
      expect(outcome.stderr).toContain('expected at most 2147483647 ms (about 24.8 days)');
    }
    // The longest one reaches the plugin: no config check of the library refuses it (exit 1).
    const socket = await plugin((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('1'));
    await expect(run(['call', '/x', '--timeout', '2147483647', '--socket', socket])).resolves.toMatchObject({ status: 0, stdout: '1\n', stderr: '' });
  });

  it('a regular file or a directory at --socket is said to be one, not a stale socket: 3 (PLUGWIRE_START), health and call alike', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    const folder = path.join(dir, 'a-directory');
    mkdirSync(folder);
    const [healthFile, healthFolder, callFile, inspectFolder] = await Promise.all([
      run(['health', '--socket', file]),
      run(['health', '--socket', folder]),
      run(['call', '/greet', '{}', '--socket', file]),
      run(['inspect', '--socket', folder]),
    ]);
    for (const [outcome, socket, what] of [
      [healthFile, file, 'a regular file'],
      [healthFolder, folder, 'a directory'],
      [callFile, file, 'a regular file'],
      [inspectFolder, folder, 'a directory'],
    ] as const) {
      expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_START, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(outcome.stderr).toContain(`plugwire: PLUGWIRE_START: nothing listens on ${socket}: it is ${what}, not a socket (check the path`);
      expect(outcome.stderr).not.toContain('stale');
    }
  });

  it('a plugin that does not answer the manifest lookup: the timeout names the route called (5)', async () => {
    const socket = socketPath();
    // Reads every request and answers none (a stopped plugin's accept backlog does the same).
    servers.push(await listening(createHttpServer(() => undefined), socket));
    const outcome = await run(['call', '/greet', '{}', '--socket', socket, '--timeout', '700']);
    expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_TIMEOUT, stdout: '', stderr: 'plugwire: PLUGWIRE_TIMEOUT: call to /greet timed out after 700 ms\n' });
  });

  it('something on --socket that does not speak HTTP: the error names the route called (9)', async () => {
    const socket = socketPath();
    servers.push(await listening(createNetServer((connection) => connection.on('error', () => undefined).resume().end('SSH-2.0-not-a-plugin\r\n')), socket));
    const outcome = await run(['call', '/greet', '{}', '--socket', socket]);
    expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_PROTOCOL, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
    expect(outcome.stderr).toContain('/greet');
    expect(outcome.stderr).not.toContain(MANIFEST_ROUTE);
  });

  it('the manifest lookup and the call share --timeout: a slow lookup leaves the call the rest, not a second --timeout', async () => {
    let lookup = 0;
    let callEnded = 0;
    const socket = socketPath();
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith(MANIFEST_ROUTE)) {
        lookup = performance.now();
        setTimeout(() => res.writeHead(404).end(), 500);
      } else {
        // Never answered: the call ends when the command gives up (its connection closes).
        req.socket.once('close', () => (callEnded = performance.now()));
      }
    });
    servers.push(await listening(server, socket));
    const outcome = await run(['call', '/slow', '{}', '--socket', socket, '--timeout', '1000']);
    expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_TIMEOUT, stdout: '', stderr: 'plugwire: PLUGWIRE_TIMEOUT: call to /slow timed out after 1000 ms\n' });
    // From the lookup to the call's end: --timeout (1000), not the lookup's 500 and 1000 more.
    expect(callEnded - lookup).toBeGreaterThanOrEqual(950);
    expect(callEnded - lookup).toBeLessThan(1400);
  });

  it('an answer larger than the command reads says what its user can do (9)', async () => {
    const socket = await plugin((_req, res) => {
      const body = `"${'x'.repeat(17 * 2 ** 20)}"`;
      // The command stops reading at the header: the rest of the body meets a closed connection.
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const outcome = await run(['call', '/big', '1', '--socket', socket]);
    expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_PROTOCOL, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
    expect(outcome.stderr).toContain('more than maxResponseSize (16777216); plugwire reads answers up to 16 MiB: ask for a smaller answer, or make the method a stream method');
  });
});
