// A proxy made with one AbortSignal, with many calls in flight to a real plugin process:
// once a listener per call made Node warn of a leak (MaxListenersExceededWarning) at 11.
import { getEventListeners } from 'node:events';
import * as path from 'node:path';
import { connect, PluginError, startWithCommand, withOptions, type Connection } from '../../lib';
import { Modifier } from '../../samples/modifier/contract';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
const CALLS = 50;

let connection: Connection<Modifier>;
const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeAll(async () => {
  connection = await connect(Modifier, startWithCommand(process.execPath, [SAMPLE], { logger: false }));
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('warning', onWarning);
  await connection.term();
});

describe('a proxy made with one signal', () => {
  it(`has ${CALLS} calls in flight behind one abort listener, without a leak warning, and none left after`, async () => {
    const controller = new AbortController();
    const proxy = withOptions(connection.plugin, { signal: controller.signal });
    const calls = Array.from({ length: CALLS }, (_, i) => proxy.modify(`v${i}`));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const untyped = Array.from({ length: CALLS }, (_, i) => connection.client.call('/modify', `u${i}`, { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await expect(Promise.all([...calls, ...untyped])).resolves.toEqual([
      ...Array.from({ length: CALLS }, (_, i) => `v${i} decorated`),
      ...Array.from({ length: CALLS }, (_, i) => `u${i} decorated`),
    ]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('aborts every call in flight when it fires, and the proxy calls again with a new signal', async () => {
    const controller = new AbortController();
    const proxy = withOptions(connection.plugin, { signal: controller.signal });
    const calls = Array.from({ length: CALLS }, (_, i) => proxy.modify(`v${i}`).then(() => 'answered', (error: unknown) => error));
    controller.abort(new Error('enough'));
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((outcome) => PluginError.is(outcome, 'PLUGWIRE_ABORTED'))).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(withOptions(connection.plugin, { signal: new AbortController().signal }).modify('x')).resolves.toBe('x decorated');
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
