// startWithCommand() through start()/connect(): real plugin processes on real sockets.
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import * as path from 'node:path';
import { connect, Method, Plugin, PluginError, start, StartError, startWithCommand, stub, type StartResult } from '../../lib';
import { Modifier } from '../../samples/modifier/contract';
import { HostTest } from '../fixtures/contracts/host-contract';
import {
  collectingLogger,
  fixture,
  fixtureStarter,
  pidAlive,
  processesMarked,
  rejectionOf,
  removeDir,
  spawnNode,
  tempDir,
  waitFor,
} from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

/** Modifier's routes plus one the sample plugin does not serve. */
@Plugin('modifier')
class WiderModifier extends Modifier {
  @Method('/missing')
  missing(): Promise<string> {
    return stub();
  }
}

let dir: string;
let socketCount = 0;
/** A fresh socket path in this file's directory. */
const socketPath = (): string => path.join(dir, `s${++socketCount}.sock`);

/** Things to terminate after each test, whatever happened. */
const started: StartResult[] = [];
const listeners: Server[] = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.term()));
  await Promise.all(listeners.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

afterAll(() => removeDir(dir));

function isConnectable(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = netConnect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function expectStartError(error: unknown, reason: StartError['reason']): asserts error is StartError {
  expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
  expect((error as StartError).reason).toBe(reason);
}

describe('startWithCommand()', () => {
  describe('start-up output and environment', () => {
    it('accepts output before the ready line and forwards it, and stderr, with the "[name] " prefix', async () => {
      const { starter, logger } = fixtureStarter('host/host-plugin', { name: 'echo', env: { HOST_FIXTURE_PRELUDE: 'loading config|warming caches' } });
      const connection = await connect(HostTest, starter, { socket: socketPath() });
      started.push(connection);

      await expect(connection.plugin.echo('x')).resolves.toBe('x echoed');
      expect(logger.lines).toEqual(['[echo] loading config', '[echo] warming caches']);
      await waitFor(() => logger.errors.length > 0, 2000, 'the stderr line');
      expect(logger.errors).toEqual(['[echo] prelude on stderr']);
    });

    it('does not pass on host services this process inherited as a plugin itself, only its own or none', async () => {
      // A NestJS plugin starts its plugins before serve() has read (and removed) these.
      const inherited = { PLUGWIRE_HOST_SOCKET: '/grandparent/host.sock', PLUGWIRE_HOST_TOKEN: 'grandparent-token', PLUGWIRE_SOCKET_DIR: '/grandparent' };
      const saved = Object.fromEntries(Object.keys(inherited).map((key) => [key, process.env[key]]));
      Object.assign(process.env, inherited);
      const report = path.join(path.dirname(socketPath()), 'env.json');
      const script = `require('fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(process.env).filter((k) => k.startsWith('PLUGWIRE_')).sort()))`;
      try {
        expectStartError(await rejectionOf(start(startWithCommand(process.execPath, ['-e', script], { logger: false }), socketPath())), 'exited');
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
      expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual(['PLUGWIRE_LIFELINE_FD', 'PLUGWIRE_TOKEN']);
    });

    it('forwards lines the plugin prints after it is ready', async () => {
      const { starter, logger } = fixtureStarter('host/host-plugin', { name: 'echo' });
      const connection = await connect(HostTest, starter, { socket: socketPath() });
      started.push(connection);

      await expect(connection.plugin.slow(0, 'a')).resolves.toBe('slow a');
      await waitFor(() => logger.lines.includes('[echo] slow started a'), 2000, 'the forwarded line');
      expect(logger.lines).not.toContain('[echo] plugin is ready');
    });

    it('names the plugin after its script when no name is given', async () => {
      const logger = collectingLogger();
      const starter = startWithCommand(process.execPath, [fixture('host/host-plugin')], { logger, env: { HOST_FIXTURE_PRELUDE: 'hello' } });
      expect(starter.name).toBe('host-plugin');
      const result = await start(starter, socketPath());
      started.push(result);
      expect(logger.lines).toEqual(['[host-plugin] hello']);
    });

    it('names a plugin whose file says nothing (plugin.js, index.js) after the folder it is in', () => {
      expect(startWithCommand(process.execPath, [SAMPLE]).name).toBe('modifier');
      expect(startWithCommand(process.execPath, ['dist/index.js'], { cwd: '/srv/rates' }).name).toBe('rates');
      expect(startWithCommand('./bin/main', [], { cwd: '/opt/geo-lookup' }).name).toBe('geo-lookup');
      expect(startWithCommand(process.execPath, ['-e', 'process.exit(3)']).name).toBe('node');
      expect(startWithCommand(process.execPath, ['plugin.js'], { name: 'given' }).name).toBe('given');
    });

    it("names the plugin by its manifest's name in the contract check, not by the starter's", async () => {
      const starter = startWithCommand(process.execPath, [SAMPLE], { name: 'plugin', logger: false });
      const error = await rejectionOf(connect(WiderModifier, starter, { socket: socketPath() }));
      expect(PluginError.is(error, 'PLUGWIRE_CONTRACT')).toBe(true);
      expect((error as Error).message).toBe('plugin modifier does not serve the route /missing of the contract WiderModifier');
    });

    it('gives the plugin PLUGIN_SOCKET, the host environment and the extra env', async () => {
      process.env['HOST_SPEC_INHERITED'] = 'from-host';
      try {
        const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_SPEC_EXTRA: 'extra' } });
        const connection = await connect(HostTest, starter, { socket: socketPath() });
        started.push(connection);

        await expect(connection.plugin.env('PLUGIN_SOCKET')).resolves.toBe(connection.client.socket);
        await expect(connection.plugin.env('HOST_SPEC_EXTRA')).resolves.toBe('extra');
        await expect(connection.plugin.env('HOST_SPEC_INHERITED')).resolves.toBe('from-host');
      } finally {
        delete process.env['HOST_SPEC_INHERITED'];
      }
    });
  });

  describe('the socket path', () => {
    it('removes a stale socket file that nobody listens on, then starts the plugin', async () => {
      const socket = socketPath();
      // A process that listens on the path and is killed leaves the socket file behind.
      const listener = spawnNode(['-e', `require('node:net').createServer().listen(process.argv[1], () => console.log('listening'))`, socket]);
      await listener.line(/^listening$/);
      listener.child.kill('SIGKILL');
      await listener.exited;
      expect(lstatSync(socket).isSocket()).toBe(true);
      await expect(isConnectable(socket)).resolves.toBe(false);

      const { starter } = fixtureStarter('host/host-plugin');
      const connection = await connect(HostTest, starter, { socket });
      started.push(connection);
      await expect(connection.plugin.echo('after stale')).resolves.toBe('after stale echoed');
    });

    it("refuses a path another live process listens on, with reason 'socket', and leaves that listener alone", async () => {
      const socket = socketPath();
      const server = createServer((c) => {
        c.on('error', () => undefined); // probes connect and hang up at once
        c.end('still mine\n');
      });
      listeners.push(server);
      await new Promise<void>((resolve) => server.listen(socket, resolve));

      const { starter } = fixtureStarter('host/host-plugin');
      const error = await rejectionOf(start(starter, socket));
      expectStartError(error, 'socket');
      expect(error.message).toContain(socket);

      expect(server.listening).toBe(true);
      expect(lstatSync(socket).isSocket()).toBe(true);
      const greeting = await new Promise<string>((resolve, reject) => {
        const c = netConnect(socket);
        let text = '';
        c.on('data', (chunk) => (text += String(chunk)));
        c.on('end', () => resolve(text));
        c.on('error', reject);
      });
      expect(greeting).toBe('still mine\n');
    });

    it("refuses a path that is a regular file, with reason 'socket', and leaves the file alone", async () => {
      const socket = socketPath();
      writeFileSync(socket, 'precious data');
      const { starter } = fixtureStarter('host/host-plugin');
      const error = await rejectionOf(start(starter, socket));
      expectStartError(error, 'socket');
      expect(statSync(socket).isFile()).toBe(true);
    });

    it("refuses a socket path longer than 107 bytes, with reason 'socket' and a message that says so", async () => {
      const socket = path.join(dir, `${'x'.repeat(120)}.sock`);
      const { starter } = fixtureStarter('host/host-plugin');
      const error = await rejectionOf(start(starter, socket));
      expectStartError(error, 'socket');
      expect(error.message).toMatch(/\b\d{3} bytes, longer than the 107\b/);
      expect(existsSync(socket)).toBe(false);
    });

    it('makes a private socket directory (0700) and socket (0600) when start() chooses the path', async () => {
      const { starter } = fixtureStarter('host/host-plugin');
      const result = await start(starter);
      started.push(result);
      const socket = result.client.socket;
      expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
      expect(lstatSync(socket).isSocket()).toBe(true);
      expect(lstatSync(socket).mode & 0o777).toBe(0o600);
    });
  });

  describe('failed starts', () => {
    it("rejects with reason 'timeout' within startTimeout when the ready line never comes, and kills the process", async () => {
      // Found by a marker among its arguments: on a loaded machine it may not have printed its pid within 500 ms.
      const marker = `silent-${process.pid}-${Date.now()}`;
      const starter = startWithCommand(process.execPath, [fixture('host/host-silent-plugin'), marker], { logger: collectingLogger() });
      const before = Date.now();
      const error = await rejectionOf(start(starter, socketPath(), { startTimeout: 500, terminationGrace: 500 }));
      const elapsed = Date.now() - before;
      expectStartError(error, 'timeout');
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(2500);
      expect(processesMarked(marker)).toEqual([]);
    });

    it("rejects with reason 'exited' and the exit code when the plugin exits before it is ready", async () => {
      const { starter, logger } = fixtureStarter('host/host-exit-plugin');
      const error = await rejectionOf(start(starter, socketPath()));
      expectStartError(error, 'exited');
      expect(error.exitCode).toBe(3);
      await waitFor(() => logger.errors.length > 0, 2000, 'the stderr line');
      expect(logger.errors).toEqual(['[host-exit-plugin] cannot start: missing configuration']);
    });

    // A Go plugin prints the failure line and exits at once; the line must win over the exit.
    it.each([1, 2, 3, 4, 5])("rejects with reason 'failed-line' when the plugin prints 'failed to listen on socket' and exits (run %i)", async () => {
      const { starter, logger } = fixtureStarter('host/host-failed-plugin');
      const error = await rejectionOf(start(starter, socketPath()));
      expectStartError(error, 'failed-line');
      const pid = Number(/pid (\d+)$/.exec(logger.lines[0] ?? '')?.[1]);
      expect(pidAlive(pid)).toBe(false);
    });

    it("carries the end of the plugin's standard error in the error: a module that cannot be found", async () => {
      const script = path.join(dir, 'missing-module.js');
      writeFileSync(script, "require('plugwire-no-such-module');\n");
      const logger = collectingLogger();
      const error = await rejectionOf(start(startWithCommand(process.execPath, [script], { logger }), socketPath()));
      expectStartError(error, 'exited');
      expect(error.exitCode).toBe(1);
      expect(error.stderr).toMatch(/Cannot find module 'plugwire-no-such-module'/);
      // Node's report of the missing module is about 20 lines; blank ones are left out.
      expect(error.message).toMatch(/^plugin missing-module exited before it was ready \(code 1\)\n(the last 20 lines of )?its standard error( \(\d+ before them left out\))?:\n/);
      expect(error.stderr).not.toMatch(/^\s*$/m);
      expect(error.message).toMatch(/^ {2}Error: Cannot find module 'plugwire-no-such-module'$/m);
      // Still forwarded as before, line by line.
      expect(logger.errors).toContain("[missing-module] Error: Cannot find module 'plugwire-no-such-module'");
    });

    it('keeps only the last 20 lines of standard error, and says how many it left out', async () => {
      const script = path.join(dir, 'many-lines.js');
      writeFileSync(script, "for (let i = 1; i <= 100; i++) process.stderr.write(`stderr line ${i}\\n`);\nprocess.exit(1);\n");
      const logger = collectingLogger();
      const error = await rejectionOf(start(startWithCommand(process.execPath, [script], { logger }), socketPath()));
      expectStartError(error, 'exited');
      expect(error.stderr?.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `stderr line ${81 + i}`));
      expect(error.message).toContain('\nthe last 20 lines of its standard error (80 before them left out):\n  stderr line 81\n');
      expect(error.message).toMatch(/ {2}stderr line 100$/);
      expect(error.message).not.toMatch(/stderr line 80$/m);
      expect(logger.errors).toHaveLength(100);
    });

    it('keeps at most 4096 characters of standard error, the latest', async () => {
      const script = path.join(dir, 'long-lines.js');
      writeFileSync(script, "for (let i = 0; i < 10; i++) process.stderr.write(String(i).repeat(1000) + '\\n');\nprocess.stderr.write('x'.repeat(9000));\nprocess.exit(2);\n");
      const error = await rejectionOf(start(startWithCommand(process.execPath, [script], { logger: false }), socketPath()));
      expectStartError(error, 'exited');
      const stderr = error.stderr ?? '';
      expect(stderr.length).toBeLessThanOrEqual(4096);
      // The last line had no newline and was longer than the bound: its end is kept.
      expect(stderr).toMatch(/^…x{4095}$/);
    });

    it('says that the program ended without serving when it exits with code 0 before the ready line', async () => {
      const { starter, logger } = fixtureStarter('host/start-no-serve');
      const error = await rejectionOf(start(starter, socketPath()));
      expectStartError(error, 'exited');
      expect(error.exitCode).toBe(0);
      expect(error.stderr).toBe('');
      expect(error.message).toBe(
        "plugin start-no-serve exited before it was ready (code 0): the program ended without serving. Check that it calls serve(), and that nothing ends the process before serve() has printed 'plugin is ready' (such as process.exit() after a serve() that is not awaited)",
      );
      expect(logger.lines).toEqual(['[start-no-serve] configured']);
    });

    it('says in the timeout what to check, with the end of standard error', async () => {
      const script = path.join(dir, 'stuck.js');
      writeFileSync(script, "process.stderr.write('connecting to the database\\n');\nsetInterval(() => undefined, 60000);\n");
      const error = await rejectionOf(start(startWithCommand(process.execPath, [script], { logger: false }), socketPath(), { startTimeout: 500 }));
      expectStartError(error, 'timeout');
      expect(error.message).toMatch(/^plugin stuck did not print 'plugin is ready' within 500 ms: check that it calls serve\(\)/);
      expect(error.message).toMatch(/\nits standard error:\n {2}connecting to the database$/);
      expect(error.stderr).toBe('connecting to the database');
    });

    it("rejects with reason 'spawn' when the command does not exist", async () => {
      const starter = startWithCommand(path.join(dir, 'no-such-command'), [], { logger: false });
      const error = await rejectionOf(start(starter, socketPath()));
      expectStartError(error, 'spawn');
      expect(error.message).toMatch(/ENOENT/);
    });
  });

  describe('a ready line after text without a newline', () => {
    it("starts at once when the line is 'loading... plugin is ready', and forwards 'loading...'", async () => {
      const { starter, logger } = fixtureStarter('host/start-partial-line');
      const result = await start(starter, socketPath(), { startTimeout: 5000 });
      started.push(result);
      await expect(result.client.call('/echo', 'x')).resolves.toBe('x echoed');
      expect(logger.lines).toEqual(['[start-partial-line] loading...']);
    });

    it('starts when the text before it was ended by a lone carriage return', async () => {
      const { starter, logger } = fixtureStarter('host/start-partial-line', { env: { START_PARTIAL_TEXT: 'step 1\rstep 2\r' } });
      const result = await start(starter, socketPath(), { startTimeout: 5000 });
      started.push(result);
      expect(logger.lines).toEqual(['[start-partial-line] step 1', '[start-partial-line] step 2']);
    });

    it('starts at once on a ready line ended by a lone carriage return with nothing after it', async () => {
      const { starter } = fixtureStarter('host/start-partial-line', { env: { START_READY_END: '\r' } });
      const result = await start(starter, socketPath(), { startTimeout: 5000 });
      started.push(result);
      await expect(result.client.call('/echo', 'x')).resolves.toBe('x echoed');
    });

    it('does not take a line that merely ends with the words for readiness while nothing listens', async () => {
      const { starter, logger } = fixtureStarter('host/start-partial-line', { env: { START_PARTIAL_DECOY: '1' } });
      const error = await rejectionOf(start(starter, socketPath(), { startTimeout: 800 }));
      expectStartError(error, 'timeout');
      expect(logger.lines).toEqual(['[start-partial-line] waiting until plugin is ready']);
    });

    it('says in the timeout that the ready line lacked its newline', async () => {
      const { starter } = fixtureStarter('host/start-partial-line', { env: { START_PARTIAL_DECOY: '2' } });
      const error = await rejectionOf(start(starter, socketPath(), { startTimeout: 1500 }));
      expectStartError(error, 'timeout');
      expect(error.message).toContain("It printed 'plugin is ready' without a newline after it: the line must end with one");
    });

    // 'loading... ' 10,000 times (110 KB) and then the ready line, all on one line: longer
    // than the host's line bound (64 Ki characters), which used to drop the line's end.
    it('starts when the text before the ready line is longer than the line bound, and forwards it cut', async () => {
      const { starter, logger } = fixtureStarter('host/start-partial-line', { env: { START_PARTIAL_REPEAT: '10000' } });
      const result = await start(starter, socketPath(), { startTimeout: 5000 });
      started.push(result);
      await expect(result.client.call('/echo', 'x')).resolves.toBe('x echoed');
      expect(logger.lines).toHaveLength(1);
      const line = logger.lines[0] ?? '';
      expect(line.length).toBeLessThan(70_000);
      expect(line.startsWith('[start-partial-line] loading... loading...')).toBe(true);
      expect(line).toContain('characters left out]…');
      expect(line.endsWith('loading... loading...')).toBe(true);
    });

    it('says in the timeout that the ready line lacked its newline after text longer than the line bound', async () => {
      const { starter } = fixtureStarter('host/start-partial-line', { env: { START_PARTIAL_DECOY: '2', START_PARTIAL_REPEAT: '10000' } });
      const error = await rejectionOf(start(starter, socketPath(), { startTimeout: 1500 }));
      expectStartError(error, 'timeout');
      expect(error.message).toContain("It printed 'plugin is ready' without a newline after it: the line must end with one");
    });
  });

  describe('reuse', () => {
    it('shares one process between two start() calls on the same explicit socket while it is alive', async () => {
      const socket = socketPath();
      const { starter } = fixtureStarter('host/host-plugin');
      const first = await start(starter, socket);
      started.push(first);
      const second = await start(starter, socket);
      started.push(second);

      expect(first.client.pid).toBeDefined();
      expect(second.client.pid).toBe(first.client.pid);
      await expect(first.client.call('/pid')).resolves.toBe(first.client.pid);
      await expect(second.client.call('/pid')).resolves.toBe(first.client.pid);
    });

    it('shares one process between two start() calls made at the same moment on the same explicit socket', async () => {
      const socket = socketPath();
      const counter = path.join(path.dirname(socket), `spawns-${path.basename(socket)}`);
      const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_COUNTER: counter } });
      const [first, second] = await Promise.all([start(starter, socket), start(starter, socket)]);
      started.push(first, second);

      expect(second.client.pid).toBe(first.client.pid);
      expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
      await expect(second.client.call('/pid')).resolves.toBe(first.client.pid);
      // The process outlives the first client's close: the second still holds it.
      await first.term();
      await expect(second.client.call('/pid')).resolves.toBe(second.client.pid);
    });

    it("refuses, with reason 'socket', a start of another program on a path where a start is under way, and lets that one finish", async () => {
      const socket = socketPath();
      const { starter } = fixtureStarter('host/host-plugin');
      const { starter: other } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_PRELUDE: 'another program' } });
      const [first, refused] = await Promise.allSettled([start(starter, socket), start(other, socket)]);
      if (first.status === 'fulfilled') started.push(first.value);
      expect(first.status).toBe('fulfilled');
      expect(refused.status).toBe('rejected');
      expectStartError((refused as PromiseRejectedResult).reason, 'socket');
      expect(((refused as PromiseRejectedResult).reason as Error).message).toContain('another process is being started on it');
    });
  });

  describe('term()', () => {
    it('resolves once the process is gone, twice, leaving no socket file and no socket directory', async () => {
      const { starter } = fixtureStarter('host/host-plugin');
      const result = await start(starter);
      const { client } = result;
      const pid = client.pid!;
      const socket = client.socket;
      expect(pidAlive(pid)).toBe(true);

      await result.term();
      expect(pidAlive(pid)).toBe(false);
      expect(existsSync(socket)).toBe(false);
      expect(existsSync(path.dirname(socket))).toBe(false);
      expect(client.state).toBe('closed');
      await expect(result.term()).resolves.toBeUndefined();
    });

    it('sends SIGKILL after terminationGrace to a plugin that ignores SIGTERM, and still resolves', async () => {
      const { starter, logger } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_IGNORE_SIGTERM: '1' } });
      const result = await start(starter, socketPath(), { terminationGrace: 300 });
      started.push(result);
      const pid = result.client.pid!;

      const before = Date.now();
      await result.term();
      const elapsed = Date.now() - before;
      expect(pidAlive(pid)).toBe(false);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      expect(logger.errors).toContain('[host-plugin] ignoring SIGTERM');
    });
  });
});
