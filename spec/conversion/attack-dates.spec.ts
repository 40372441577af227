// Date parameters, Date fields with @Type(() => Date) and `returns: Date` take RFC 3339
// date-times only (what the manifest declares as `format: date-time`, and what Go's
// encoding/json reads), checked with curl against a real plugin and with a host.
import { connect, PayloadValidationError, PluginError, type Connection } from '../../lib';
import { AttackConv, Dated } from '../fixtures/conversion/attack-conv-contract';
import { curlPost, envelopeOf, startConvPlugin, type ConvPlugin } from '../fixtures/conversion/attack-conv-process';
import { fixtureStarter, rejectionOf } from '../support/host-helpers';

const NOT_DATE_TIMES: ReadonlyArray<[string, unknown]> = [
  ['a bare number in a string', '1'],
  ['a month and a day', 'Dec 25'],
  ['epoch milliseconds', 0],
  ['a time without an offset', '2026-12-25T10:00:00'],
  ['a date without a time', '2026-12-25'],
  ['a space for the T', '2026-12-25 10:00:00Z'],
  ['JavaScript Date text', 'Fri Dec 25 2026 10:00:00 GMT+0000'],
  ['the 31st of June', '2026-06-31T10:00:00Z'],
  ['a boolean', true],
  ['an object', { year: 2026 }],
];

const DATE_TIMES: ReadonlyArray<[string, string]> = [
  ['2026-12-25T10:00:00Z', '2026-12-25T10:00:00.000Z'],
  ['2026-12-25t10:00:00z', '2026-12-25T10:00:00.000Z'],
  ['2026-12-25T12:00:00.123456789123+02:00', '2026-12-25T10:00:00.123Z'],
  ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
];

describe('date-times sent to a plugin by a Go host (curl)', () => {
  let plugin: ConvPlugin;

  beforeAll(async () => {
    plugin = await startConvPlugin();
  });

  afterAll(async () => {
    await plugin.stop();
  });

  it.each(NOT_DATE_TIMES)('a Date parameter refuses %s with 422', async (_what, value) => {
    const answer = await curlPost(plugin.socket, '/day', envelopeOf(value), ['X-Plugwire-Version: 1']);
    expect(answer.status).toBe(422);
    const wire = JSON.parse(JSON.parse(answer.body) as string) as { code: string; violations: Array<{ path: string; constraints: Record<string, string> }> };
    expect(wire.code).toBe('PLUGWIRE_VALIDATION');
    expect(wire.violations).toEqual([expect.objectContaining({ path: '(payload)', constraints: { isDate: expect.stringMatching(/RFC 3339/) as unknown } })]);
  });

  it.each(NOT_DATE_TIMES)('a Date field with @Type(() => Date) refuses %s with 422', async (_what, value) => {
    const answer = await curlPost(plugin.socket, '/dated', envelopeOf({ at: value }), ['X-Plugwire-Version: 1']);
    expect(answer.status).toBe(422);
    const wire = JSON.parse(JSON.parse(answer.body) as string) as { violations: Array<{ path: string; constraints: Record<string, string> }> };
    expect(wire.violations.map((v) => v.path)).toEqual(['at']);
  });

  it.each(DATE_TIMES)('a Date parameter and a Date field take %s', async (text, iso) => {
    await expect(curlPost(plugin.socket, '/day', envelopeOf(text))).resolves.toMatchObject({ status: 200, body: `${JSON.stringify(iso)}\n` });
    await expect(curlPost(plugin.socket, '/dated', envelopeOf({ at: text }))).resolves.toMatchObject({ status: 200, body: `${JSON.stringify(iso)}\n` });
  });
});

describe('date-times between a host and a plugin', () => {
  let connection: Connection<AttackConv>;

  beforeAll(async () => {
    connection = await connect(AttackConv, fixtureStarter('conversion/attack-conv-plugin').starter);
  });

  afterAll(async () => {
    await connection.term();
  });

  it('an answer for `returns: Date` that is not an RFC 3339 date-time fails with a result validation error', async () => {
    for (const text of ['1', 'Dec 25', '2026-12-25T10:00:00', '2026-12-25']) {
      const error = await rejectionOf(connection.plugin.asDate(text));
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect((error as PayloadValidationError).side).toBe('result');
    }
    const date = await connection.plugin.asDate('2026-12-25T10:00:00+01:00');
    expect(date).toBeInstanceOf(Date);
    expect(date.toISOString()).toBe('2026-12-25T09:00:00.000Z');
  });

  it('a Date argument travels as its RFC 3339 text; one JSON cannot write as one is refused by the host', async () => {
    await expect(connection.plugin.day(new Date('2026-12-25T10:00:00Z'))).resolves.toBe('2026-12-25T10:00:00.000Z');
    for (const bad of [new Date(Number.NaN), new Date(Date.UTC(10000, 0, 1)), new Date(Date.UTC(-1, 0, 1))]) {
      const error = await rejectionOf(connection.plugin.day(bad));
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect((error as PayloadValidationError).side).toBe('host');
    }
    // A string where a Date is declared must be an RFC 3339 date-time too.
    const error = await rejectionOf(connection.plugin.day('Dec 25' as unknown as Date));
    expect((error as PayloadValidationError).side).toBe('host');
  });

  it('a DTO with a Date field is sent and received', async () => {
    await expect(connection.plugin.dated(Object.assign(new Dated(), { at: new Date('2026-12-25T10:00:00Z') }))).resolves.toBe('2026-12-25T10:00:00.000Z');
  });
});
