// `plugwire health`, run as an exec probe runs it: the built dist/lib/cli/plugwire.js in its
// own process against real plugin processes on real sockets (the Modifier sample with its
// token from a file, as in a sidecar container; the Go stand-in, a version 1 plugin), and
// against what a probe meets when something is wrong: no socket, a stale socket file, a
// refused token, a stopped plugin, something that is not a plugin. Also --token-file on
// inspect and call, and the constants the command writes out rather than import.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import * as path from 'node:path';
import { EXIT_CODES } from '../../lib/cli/exit-codes';
import { HEALTH_ROUTE as CLI_HEALTH_ROUTE, HEALTH_TIMEOUT } from '../../lib/cli/health';
import { readTokenFile as cliReadTokenFile, TOKEN_ENV as CLI_TOKEN_ENV, TOKEN_FILE_ENV as CLI_TOKEN_FILE_ENV } from '../../lib/cli/token';
import { HEALTH_ROUTE, TOKEN_ENV, TOKEN_FILE_ENV } from '../../lib/protocol/constants';
import { readTokenFile } from '../../lib/util/token-file';
import { runCli, type CliOutcome } from '../support/cli';
import { fixture, pidAlive, processesMarked, removeDir, spawnNode, tempDir, within, type Spawned } from '../support/host-helpers';

const ROOT = path.join(__dirname, '../..');
const SAMPLE = path.join(ROOT, 'dist/samples/modifier/plugin.js');
const GO_PLUGIN = fixture('compat/go-plugin');
/** The last argument of every plugin this spec starts, and of the command given after --. */
const MARKER = `pw-health-spec-${process.pid}`;
const TOKEN = 'the-token-of-the-secret';
/** One line on standard error: `plugwire: ` and the rest. */
const ONE_LINE = /^plugwire: [^\n]+\n$/;

interface Outcome extends CliOutcome {
  /** From the spawn to the exit, ms. */
  readonly elapsed: number;
}

/** Runs the built command (with none of the token variables unless `env` gives them). */
async function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const began = Date.now();
  const outcome = await runCli(args, env, [TOKEN_ENV, TOKEN_FILE_ENV]);
  return { ...outcome, elapsed: Date.now() - began };
}

describe('plugwire health', () => {
  let dir: string;
  let tokenFile: string;
  let socket: string;
  let plugin: Spawned;
  const others: Spawned[] = [];
  let count = 0;

  /** Starts a plugin process as a container runtime would, and waits for its ready line. */
  async function startPlugin(script: string, env: NodeJS.ProcessEnv): Promise<{ spawned: Spawned; socket: string }> {
    const at = path.join(dir, `plugin-${++count}.sock`);
    const spawned = spawnNode([script, MARKER], { PLUGIN_SOCKET: at, ...env });
    await within(spawned.line(/^plugin is ready$/), 10_000, 'the ready line');
    return { spawned, socket: at };
  }

  async function stop(spawned: Spawned): Promise<void> {
    if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill('SIGKILL');
    await within(spawned.exited, 5000, 'the plugin to exit');
  }

  beforeAll(async () => {
    dir = tempDir();
    tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    ({ spawned: plugin, socket } = await startPlugin(SAMPLE, { [TOKEN_FILE_ENV]: tokenFile }));
  });
  afterEach(async () => {
    await Promise.all(others.splice(0).map(stop));
  });
  afterAll(async () => {
    await stop(plugin);
    removeDir(dir);
    expect(processesMarked(MARKER)).toEqual([]);
  });

  describe('a healthy plugin', () => {
    it.each<[string, string[], NodeJS.ProcessEnv]>([
      ['--token', ['--token', TOKEN], {}],
      ['--token-file', ['--token-file', '<file>'], {}],
      ['PLUGWIRE_TOKEN_FILE', [], { [TOKEN_FILE_ENV]: '<file>' }],
      ['PLUGWIRE_TOKEN', [], { [TOKEN_ENV]: TOKEN }],
      ['--token over PLUGWIRE_TOKEN_FILE', ['--token', TOKEN], { [TOKEN_FILE_ENV]: path.join('/nonexistent', 'token') }],
      ['PLUGWIRE_TOKEN over PLUGWIRE_TOKEN_FILE, as serve() takes them', [], { [TOKEN_ENV]: TOKEN, [TOKEN_FILE_ENV]: path.join('/nonexistent', 'token') }],
    ])('exits 0 and prints nothing, given the token by %s', async (_how, args, env) => {
      const withFile = (text: string | undefined): string | undefined => (text === '<file>' ? tokenFile : text);
      const given = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, withFile(value)]));
      const outcome = await run(['health', '--socket', socket, ...args.map((arg) => withFile(arg) as string)], given);
      expect(outcome).toMatchObject({ status: 0, stdout: '', stderr: '' });
    });

    it('prints one line with --verbose', async () => {
      const outcome = await run(['health', '--socket', socket, '--token-file', tokenFile, '--verbose']);
      expect(outcome).toMatchObject({ status: 0, stderr: '' });
      expect(outcome.stdout).toMatch(new RegExp(`^${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: healthy, \\d+ ms\\n$`));
    });

    it('starts no plugin and leaves nothing behind: no process, no file, the plugin as it was', async () => {
      const before = readdirSync(dir).sort();
      const outcome = await run(['health', '--socket', socket, '--token-file', tokenFile]);
      expect(outcome.status).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(pidAlive(plugin.child.pid as number)).toBe(true);
      expect(processesMarked(MARKER)).toEqual([plugin.child.pid]);
      // A plugin command after -- is refused, not run.
      const refused = await run(['health', '--socket', socket, '--', process.execPath, SAMPLE, MARKER]);
      expect(refused).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(processesMarked(MARKER)).toEqual([plugin.child.pid]);
    });
  });

  describe('an unhealthy answer or none: one line on standard error, a status that says why', () => {
    it('a refused token or none: 9 (PLUGWIRE_PROTOCOL)', async () => {
      const outcomes = await Promise.all([run(['health', '--socket', socket, '--token', 'not-it']), run(['health', '--socket', socket])]);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_PROTOCOL, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
        expect(outcome.stderr).toMatch(/^plugwire: PLUGWIRE_PROTOCOL: .*refused the request \(401 unauthorized\)/);
        expect(outcome.stderr).not.toContain(TOKEN);
      }
      expect(outcomes[1]?.stderr).toContain('no token was given');
    });

    it('nothing at the path: 3 (PLUGWIRE_START)', async () => {
      const nowhere = path.join(dir, 'nowhere.sock');
      const outcome = await run(['health', '--socket', nowhere]);
      expect(outcome).toEqual(expect.objectContaining({ status: EXIT_CODES.PLUGWIRE_START, stdout: '', stderr: `plugwire: PLUGWIRE_START: nothing listens on ${nowhere}: no such file\n` }));
    });

    it('the stale socket file of a killed plugin: 3 (PLUGWIRE_START), connection refused', async () => {
      const killed = await startPlugin(SAMPLE, { [TOKEN_FILE_ENV]: tokenFile });
      await stop(killed.spawned); // SIGKILL: the file stays
      expect(existsSync(killed.socket)).toBe(true);
      const outcome = await run(['health', '--socket', killed.socket, '--token-file', tokenFile]);
      expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_START, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(outcome.stderr).toContain('connection refused (a stale socket file)');
    });

    it('a stopped (wedged) plugin: 5 (PLUGWIRE_TIMEOUT) once --timeout passed, and 0 again once it runs', async () => {
      const wedged = await startPlugin(SAMPLE, { [TOKEN_FILE_ENV]: tokenFile });
      others.push(wedged.spawned);
      const pid = wedged.spawned.child.pid as number;
      process.kill(pid, 'SIGSTOP');
      try {
        const outcome = await run(['health', '--socket', wedged.socket, '--token-file', tokenFile, '--timeout', '300']);
        expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_TIMEOUT, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
        expect(outcome.stderr).toContain('did not answer within 300 ms');
        // The bound is the command's: its own start (a Node.js process) comes on top.
        expect(outcome.elapsed).toBeGreaterThanOrEqual(300);
        expect(outcome.elapsed).toBeLessThan(300 + 5000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await expect(run(['health', '--socket', wedged.socket, '--token-file', tokenFile])).resolves.toMatchObject({ status: 0 });
    });

    it('something that is not an HTTP server: 9 (PLUGWIRE_PROTOCOL)', async () => {
      const odd = path.join(dir, 'odd.sock');
      // It reads what comes (so that it sees the command close its end) and answers no HTTP.
      const server: Server = createServer((connection) => connection.resume().end('SSH-2.0-not-a-plugin\r\n'));
      await new Promise<void>((resolve) => server.listen(odd, resolve));
      try {
        const outcome = await run(['health', '--socket', odd]);
        expect(outcome).toMatchObject({ status: EXIT_CODES.PLUGWIRE_PROTOCOL, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('a token file it cannot use, or both --token and --token-file: 2 (usage)', async () => {
      const empty = path.join(dir, 'empty-token');
      writeFileSync(empty, '\n');
      const outcomes = await Promise.all([
        run(['health', '--socket', socket, '--token-file', path.join(dir, 'missing')]),
        run(['health', '--socket', socket, '--token-file', empty]),
        run(['health', '--socket', socket], { [TOKEN_FILE_ENV]: empty }),
        run(['health', '--socket', socket, '--token', TOKEN, '--token-file', tokenFile]),
      ]);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(outcomes[2]?.stderr).toBe(`plugwire: ${TOKEN_FILE_ENV}: the token file ${empty} is empty\n`);
    });

    it('a token a header cannot carry, given as --token or PLUGWIRE_TOKEN, to every command: 2 (usage), as from a file', async () => {
      const bad = 'abc\ndef';
      const outcomes = await Promise.all([
        run(['health', '--socket', socket, '--token', bad]),
        run(['call', '/greet', '"x"', '--socket', socket, '--token', bad]),
        run(['inspect', '--socket', socket, '--token', bad]),
        run(['health', '--socket', socket], { PLUGWIRE_TOKEN: bad }),
      ]);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(outcomes[0]?.stderr).toBe('plugwire: --token: the token holds characters a token cannot have (only visible ASCII, no spaces)\n');
      expect(outcomes[3]?.stderr).toBe('plugwire: PLUGWIRE_TOKEN: the token holds characters a token cannot have (only visible ASCII, no spaces)\n');
    });
  });

  describe('a version 1 plugin (the Go stand-in: no health route, no token)', () => {
    it('counts its 404 as alive: 0, and --verbose says so', async () => {
      const go = await startPlugin(GO_PLUGIN, {});
      others.push(go.spawned);
      const [quiet, verbose] = await Promise.all([run(['health', '--socket', go.socket]), run(['health', '--socket', go.socket, '-v'])]);
      expect(quiet).toMatchObject({ status: 0, stdout: '', stderr: '' });
      expect(verbose).toMatchObject({ status: 0, stderr: '' });
      expect(verbose.stdout).toContain('alive: a protocol version 1 plugin (it has no health route and answered 404)');
    });
  });

  describe('--token-file on inspect and call (with --socket)', () => {
    it('sends the file\'s token, as PLUGWIRE_TOKEN_FILE does', async () => {
      const [call, inspect, fromEnv] = await Promise.all([
        run(['call', '/modify', '"s"', '--socket', socket, '--token-file', tokenFile]),
        run(['inspect', '--json', '--socket', socket, '--token-file', tokenFile]),
        run(['call', '/modify', '"s"', '--socket', socket], { [TOKEN_FILE_ENV]: tokenFile }),
      ]);
      expect(call).toMatchObject({ status: 0, stdout: '"s decorated"\n', stderr: '' });
      expect(inspect).toMatchObject({ status: 0, stderr: '' });
      expect(JSON.parse(inspect.stdout)).toMatchObject({ plugin: { name: 'modifier' } });
      expect(fromEnv).toMatchObject({ status: 0, stdout: '"s decorated"\n', stderr: '' });
    });

    it('refuses --token-file without --socket (a plugin the command starts has its own token)', async () => {
      const outcome = await run(['call', '/modify', '"s"', '--token-file', tokenFile, '--', process.execPath, SAMPLE, MARKER]);
      expect(outcome).toMatchObject({ status: EXIT_CODES.USAGE, stdout: '', stderr: expect.stringMatching(ONE_LINE) });
      expect(processesMarked(MARKER)).toEqual([plugin.child.pid]);
    });
  });

  // The command writes these out rather than load the library (a probe starts often).
  describe('what the command writes out agrees with the library', () => {
    it('the health route, the token variables and the default timeout', () => {
      expect(CLI_HEALTH_ROUTE).toBe(HEALTH_ROUTE);
      expect(CLI_TOKEN_ENV).toBe(TOKEN_ENV);
      expect(CLI_TOKEN_FILE_ENV).toBe(TOKEN_FILE_ENV);
      expect(HEALTH_TIMEOUT).toBe(1000);
    });

    it.each([
      ['a token and a newline', `${TOKEN}\n`],
      ['spaces and newlines around it', `  ${TOKEN} \r\n\n`],
      ['an empty file', ''],
      ['whitespace only', ' \n'],
      ['a space inside', 'two words'],
      ['a character past ASCII', 'tökén'],
    ])('reads a token file as readTokenFile() does: %s', (_what, text) => {
      const file = path.join(dir, `agree-${++count}`);
      writeFileSync(file, text);
      const outcome = (read: () => string): string => {
        try {
          return `token ${read()}`;
        } catch (error) {
          return `error ${(error as Error).message.replace(/^[^:]+: /, '')}`;
        }
      };
      expect(outcome(() => cliReadTokenFile(file, '--token-file'))).toBe(outcome(() => readTokenFile(file, 'serve()')));
    });
  });
});
