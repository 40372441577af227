// The configuration of start() and connect(), checked before anything is spawned: every
// field with a message that names the field, the range and the type of what it got; an
// explicit undefined keeps the default; strings of digits (what a configuration service
// hands out) count as numbers. Real plugin processes (the Modifier sample) show that what
// is accepted works for calls.
import * as path from 'node:path';
import { defaultConfig, start, startWithCommand, type PluginConfigInput, type Starter, type StartResult } from '../../lib';
import { rejectionOf } from '../support/host-helpers';

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
  ])('refuses %s before starting anything, naming the field and the type', async (_label, config, message) => {
    const starter = untouchable();
    const error = await rejectionOf(start(starter, undefined, config as PluginConfigInput));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`plugwire config: ${message}`);
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
