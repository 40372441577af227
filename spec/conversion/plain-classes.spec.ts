// Plain classes, Date results and DTOs that lack @Type, between real processes: a
// plugwire host and the plain-plugin fixture, the host and the Go stand-in (whose
// request types are plain structs), and the Go host stand-in calling the plugin.
import * as path from 'node:path';
import { connect, readManifest, startWithCommand, type Connection } from '../../lib';
import { goStart, type GoHostPlugin } from '../support/go-host';
import { fixture, removeDir, tempDir } from '../support/host-helpers';
import { Greeting, PlainClasses, SumRequest, SumResult } from '../fixtures/contracts/plain-contract';
import { refusalOf } from '../support/conversion-helpers';

const ORDER_MESSAGE = 'nested object needs @Type(() => Address) from class-transformer on OrderWithoutType.address, or it is validated as a plain object';
const MEETING_MESSAGE = 'a date arrives as a string: add @Type(() => Date) from class-transformer to MeetingWithoutType.at';

describe('a plugwire host and plugin with plain classes', () => {
  let plain: Connection<PlainClasses>;
  beforeAll(async () => {
    plain = await connect(PlainClasses, startWithCommand(process.execPath, [fixture('conversion/plain-plugin')], { logger: false }));
  });
  afterAll(() => plain.term());

  it('passes a class without decorators as an instance of it, and answers an instance of the result class', async () => {
    const sum = await plain.plugin.add({ A: 1, B: 2 });
    expect(sum).toBeInstanceOf(SumResult);
    expect(sum.double()).toBe(6);
    const request = Object.assign(new SumRequest(), { A: 20, B: 1 });
    await expect(plain.plugin.add(request)).resolves.toEqual(Object.assign(new SumResult(), { Sum: 21 }));
  });

  it('gives an instance of a result class with methods, alone and in an array', async () => {
    const greeting = await plain.plugin.greet('Ada');
    expect(greeting).toBeInstanceOf(Greeting);
    expect(greeting.shout()).toBe('HELLO, ADA');
    const greetings = await plain.plugin.greetings(['a', 'b']);
    expect(greetings.map((g) => g.shout())).toEqual(['HELLO, A', 'HELLO, B']);
  });

  it('converts nested plain classes that @Type names', async () => {
    await expect(plain.plugin.classes({ points: [{ x: 1, y: 2 }, { x: 3, y: 4 }] })).resolves.toEqual(['PlainPath', 'PlainPoint', 'PlainPoint']);
  });

  it('gives Dates for returns: Date and returns: [Date]', async () => {
    const epoch = await plain.plugin.epoch(86_400_000);
    expect(epoch).toBeInstanceOf(Date);
    expect(epoch.toISOString()).toBe('1970-01-02T00:00:00.000Z');
    const days = await plain.plugin.days(new Date('2024-02-28T12:00:00.000Z'), 2);
    expect(days.map((d) => d instanceof Date && d.toISOString())).toEqual(['2024-02-28T12:00:00.000Z', '2024-02-29T12:00:00.000Z']);
  });

  it('describes Date results as date-time strings in the manifest', async () => {
    const manifest = await readManifest(plain.client);
    const result = (route: string): unknown => manifest?.methods.find((m) => m.route === route)?.result;
    expect(result('/epoch')).toEqual({ type: 'Date', schema: { type: 'string', format: 'date-time' } });
    expect(result('/days')).toEqual({ type: 'Date[]', schema: { type: 'array', items: { type: 'string', format: 'date-time' } } });
    expect(manifest?.definitions['Date']).toBeUndefined();
  });

  it('names the nested DTO that lacks @Type and what to add: on the host before sending, and in the plugin', async () => {
    const order = { id: 'o-1', address: { city: 'Oslo' } };
    const host = await refusalOf(plain.plugin.order(order));
    expect(host.side).toBe('host');
    expect(host.message).toBe(`invalid payload for /order: address: ${ORDER_MESSAGE}`);
    // A host that does not check (client.call()) leaves it to the plugin, which says the same.
    const remote = await refusalOf(plain.client.call('/order', order));
    expect(remote.side).toBe('plugin');
    expect(remote.violations).toEqual([{ path: 'address', constraints: { missingType: ORDER_MESSAGE } }]);
    expect(remote.message).not.toMatch(/undefined|unknown value/);
  });

  it('names the Date field that lacks @Type and what to add', async () => {
    const remote = await refusalOf(plain.client.call('/meeting', { at: '2024-05-06T07:08:09.000Z' }));
    expect(remote.side).toBe('plugin');
    expect(remote.violations).toEqual([{ path: 'at', constraints: { missingType: MEETING_MESSAGE } }]);
  });
});

describe('a plugwire host calling a Go plugin whose request and result types are plain structs', () => {
  let go: Connection<PlainClasses>;
  beforeAll(async () => {
    // The Go stand-in serves /add; it has no manifest, which the contract check accepts.
    go = await connect(PlainClasses, startWithCommand(process.execPath, [fixture('compat/go-plugin')], { logger: false }));
  });
  afterAll(() => go.term());

  it('sends a plain SumRequest and converts the answer into a SumResult', async () => {
    const sum = await go.plugin.add({ A: 2, B: 3 });
    expect(sum).toBeInstanceOf(SumResult);
    expect(sum.double()).toBe(10);
    await expect(go.plugin.add(Object.assign(new SumRequest(), { A: 0.5, B: 0.25 }))).resolves.toEqual(Object.assign(new SumResult(), { Sum: 0.75 }));
  });
});

describe('a Go host calling a plugwire plugin whose request types are plain classes', () => {
  let dir: string;
  let plugin: GoHostPlugin;
  beforeAll(async () => {
    dir = tempDir();
    plugin = await goStart(process.execPath, [fixture('conversion/plain-plugin')], path.join(dir, 'plain.sock'));
  });
  afterAll(async () => {
    await plugin.term();
    removeDir(dir);
  });

  it('converts the Go struct into the plain class and answers as Go expects', async () => {
    const sum = await plugin.call('/add', { A: 4, B: 5 });
    expect(sum).toMatchObject({ status: 200, rawBody: '{"Sum":9}\n' });
    const greeting = await plugin.call('/greet', 'Go');
    expect(greeting).toMatchObject({ status: 200, value: { text: 'Hello, Go' } });
  });
});
