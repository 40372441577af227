// The configuration of start() and connect(), checked before anything is spawned: every
// field with a message that names the field, the range and the type of what it got; an
// explicit undefined keeps the default; strings of digits (what a configuration service
// hands out) count as numbers. Real plugin processes (the Modifier sample) show that what
// is accepted works for calls.
import * as path from 'node:path';
import { connect, defaultConfig, spawnCommand, start, startPlugin, startWithCommand, type ConnectOptions, type PluginConfigInput, type PluginError, type Starter, type StartResult } from '../../lib';
import { Modifier } from '../../samples/modifier/contract';
import { rejectionOf, removeDir, tempDir } from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

/** A starter that fails the test if it is asked to start anything. */
function untouchable(): Starter & { readonly asked: () => number } {
  let asked = 0;
  return {
    name: 'untouchable',
    start: () => {
      asked += 1;
      return Promise.reject(new Error('the configuration should have been refused before the start'));
    },
    asked: () => asked,
  };
}

const MS = 'a number of ms from 0 to 2147483647';

describe('start() configuration', () => {
  const running: StartResult[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.term()));
  });

  it.each<[string, unknown, string]>([
    ['a timeout with a unit', { timeout: '5 s' }, `timeout must be ${MS}, got the string "5 s"`],
    ['a negative timeout', { timeout: -1 }, `timeout must be ${MS}, got the number -1`],
    ['a boolean timeout', { timeout: true }, `timeout must be ${MS}, got the boolean true`],
    ['a timeout beyond what a timer holds', { timeout: 2 ** 31 }, `timeout must be ${MS}, got the number 2147483648`],
    ['a keep-alive of 0, which undici refuses at every connection', { keepAlive: 0 }, 'keepAlive must be a number of ms from 1 to 2147483647, got the number 0'],
    ['a start timeout of 0, which fails every start', { startTimeout: 0 }, 'startTimeout must be a number of ms from 1 to 2147483647, got the number 0'],
    ['a fraction of a connection', { connections: 1.5 }, 'connections must be a whole number from 1 to 2147483647, got the number 1.5'],
    ['a fraction of a byte', { maxResponseSize: 1024.5 }, `maxResponseSize must be a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}, got the number 1024.5`],
    ['a null restart field', { restart: { maxRestarts: null } }, 'restart.maxRestarts must be a whole number from 0 to 2147483647, got null'],
    ['a restart policy that is a number', { restart: 5 }, 'restart must be an object, got the number 5'],
    ['an unknown contract check', { contractCheck: 'loud' }, `contractCheck must be 'strict', 'warn' or 'off', got the string "loud"`],
    ['a logger that is a function', { logger: console.log }, 'logger must be an object with log() and error() (console fits), got a function'],
    ['a configuration that is an array', [], 'the configuration must be an object, got an array'],
    ['a configuration that is null', null, 'the configuration must be an object, got null'],
    ['a configuration that is a string', 'fast', 'the configuration must be an object, got the string "fast"'],
    ['a configuration that is a number', 5, 'the configuration must be an object, got the number 5'],
    ['a misspelt field', { timout: 5000 }, "unknown option 'timout' (did you mean 'timeout'?)"],
    ['a misspelt field set to undefined', { timout: undefined }, "unknown option 'timout' (did you mean 'timeout'?)"],
    ['a field in the wrong case', { maxinflight: 5 }, "unknown option 'maxinflight' (did you mean 'maxInFlight'?)"],
    ['keepalive, close to the deprecated keepAlive', { keepalive: 5 }, "unknown option 'keepalive' (did you mean 'keepAliveTimeout'?)"],
    [
      'a field that is nothing like one',
      { colour: 'red' },
      "unknown option 'colour'; the options are timeout, connectTimeout, keepAliveTimeout, startTimeout, terminationGrace, connections, maxInFlight, maxQueued, instances, maxResponseSize, restart, logger, contractCheck, liveness, limits, services, socket",
    ],
    ['the socket, which startPlugin() takes as its second argument', { socket: '/tmp/x.sock' }, "unknown option 'socket': startPlugin() takes the socket path as its second argument"],
    ['a misspelt restart field', { restart: { maxRestart: 1 } }, "unknown option 'restart.maxRestart' (did you mean 'restart.maxRestarts'?)"],
    ['a misspelt liveness field', { liveness: { intervall: 2000 } }, "unknown option 'liveness.intervall' (did you mean 'liveness.interval'?)"],
    ['a liveness field that is nothing like one', { liveness: { retries: 2 } }, "unknown option 'liveness.retries'; the options are liveness.interval, liveness.timeout, liveness.failures"],
    ['a limit without its unit', { limits: { memory: 64 } }, "unknown option 'limits.memory' (did you mean 'limits.memoryMiB'?)"],
    ['a limit that is not one', { limits: { cpu: 1 } }, "unknown option 'limits.cpu'; the options are limits.memoryMiB"],
  ])('refuses %s before starting anything, naming the field and the type', async (_label, config, message) => {
    const starter = untouchable();
    const error = await rejectionOf(start(starter, undefined, config as PluginConfigInput));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`plugwire config: ${message}`);
    expect(starter.asked()).toBe(0);
  });

  it.each<[string, unknown]>([
    ['a number', 5],
    ['an empty string', ''],
    ['an object', { path: '/tmp/x.sock' }],
  ])('refuses a socket path that is %s before starting anything', async (_label, socket) => {
    const starter = untouchable();
    const message = `plugwire config: socket must be a path (a non-empty string), got ${typeof socket === 'string' ? 'the string ""' : typeof socket === 'number' ? 'the number 5' : 'an object'}`;
    await expect(rejectionOf(startPlugin(starter, socket as string))).resolves.toEqual(new TypeError(message));
    expect(starter.asked()).toBe(0);
  });

  it('keeps the defaults for fields given as undefined and reads strings of digits as numbers, with working calls', async () => {
    const config = {
      timeout: undefined,
      startTimeout: undefined,
      contractCheck: undefined,
      keepAlive: '1000',
      connections: '2',
      maxResponseSize: '1048576',
      restart: { maxRestarts: undefined, cooldown: '500' },
    } as unknown as PluginConfigInput;
    const started = await start(startWithCommand(process.execPath, [SAMPLE], { logger: false }), undefined, config);
    running.push(started);
    const base = defaultConfig();
    expect(started.client.config).toEqual({
      ...base,
      keepAliveTimeout: 1000,
      connections: 2,
      maxResponseSize: 1048576,
      restart: { ...base.restart, cooldown: 500 },
    });
    await expect(Promise.all(['a', 'b', 'c'].map((v) => started.client.call('/modify', v)))).resolves.toEqual(['a decorated', 'b decorated', 'c decorated']);
  });

  it('calls through connections that are closed 1 ms after each answer (the smallest keep-alive)', async () => {
    const started = await start(startWithCommand(process.execPath, [SAMPLE], { logger: false }), undefined, { keepAlive: 1 });
    running.push(started);
    for (const value of ['a', 'b', 'c']) {
      await expect(started.client.call('/modify', value)).resolves.toBe(`${value} decorated`);
    }
  });
});

// connect() takes the configuration with `socket` in it, as configuration loaded at run time
// (JSON, a settings service) hands it over: what it gets is checked as start() checks it,
// and the socket too, before anything is started.
describe('connect() configuration', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'the configuration must be an object, got null'],
    ['a string', 'fast', 'the configuration must be an object, got the string "fast"'],
    ['a number', 5, 'the configuration must be an object, got the number 5'],
    ['an array', ['timeout'], 'the configuration must be an object, got an array'],
    ['a socket that is a number', { socket: 5 }, 'socket must be a path (a non-empty string), got the number 5'],
    ['an empty socket', { socket: '' }, 'socket must be a path (a non-empty string), got the string ""'],
    ['a misspelt field', { timout: 5000 }, "unknown option 'timout' (did you mean 'timeout'?)"],
    ['a misspelt socket', { sockt: '/tmp/x.sock' }, "unknown option 'sockt' (did you mean 'socket'?)"],
    ['a misspelt restart field', { socket: undefined, restart: { cooldwn: 5 } }, "unknown option 'restart.cooldwn' (did you mean 'restart.cooldown'?)"],
  ])('refuses a configuration that is %s with a TypeError naming it, before starting anything', async (_label, config, message) => {
    const starter = untouchable();
    const error = await rejectionOf(connect(Modifier, starter, config as ConnectOptions));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`plugwire config: ${message}`);
    expect(starter.asked()).toBe(0);
  });

  it.each<[string, unknown, string]>([
    ['undefined (a misspelt import)', undefined, 'undefined'],
    ['null', null, 'null'],
    ['an instance', new Modifier(), 'an object'],
    ['a string', 'Modifier', 'the string "Modifier"'],
  ])('refuses a contract that is %s with a DefinitionError naming what it got, before starting anything', async (_label, contract, got) => {
    const starter = untouchable();
    const error = await rejectionOf(connect(contract as typeof Modifier, starter));
    expect((error as PluginError).code).toBe('PLUGWIRE_DEFINITION');
    expect((error as Error).message).toBe(`connect() takes a contract class, a @Plugin() class whose methods carry @Method(), got ${got}: check the name it was imported by`);
    expect(starter.asked()).toBe(0);
  });

  it.each<[string, unknown, string]>([
    ['one string', 'dist/plugin.js', 'the string "dist/plugin.js" (write ["dist/plugin.js"])'],
    ['an array with a number', ['plugin.js', 3], 'an array holding other values'],
    ['null', null, 'null'],
  ])('spawnCommand() refuses arguments that are %s with a TypeError', (_label, args, got) => {
    expect(() => spawnCommand(process.execPath, args as string[])).toThrow(new TypeError(`spawnCommand(): the arguments must be an array of strings, got ${got}`));
  });

  it('takes every field of defaultConfig() with socket and services, and a configuration parsed from JSON', async () => {
    const dir = tempDir();
    const config = JSON.parse(JSON.stringify({ ...defaultConfig(), socket: path.join(dir, 'modifier.sock'), services: [], liveness: { interval: 2000 }, limits: { memoryMiB: 256 } })) as ConnectOptions;
    const { client, close } = await connect(Modifier, startWithCommand(process.execPath, [SAMPLE], { logger: false }), config);
    try {
      expect(client.socket).toBe(path.join(dir, 'modifier.sock'));
      expect(client.config).toMatchObject({ liveness: { interval: 2000, timeout: 500, failures: 3 }, limits: { memoryMiB: 256 } });
      await expect(client.call('/modify', 'a')).resolves.toBe('a decorated');
    } finally {
      await close();
      removeDir(dir);
    }
  });
});
