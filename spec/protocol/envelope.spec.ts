// The request envelope, both halves: what the host encodes is what the plugin decodes, and a
// body a Go host could send (keys in any case, a null Context) reads the same.
import { argumentsToPayload, decodeRequest, encodeRequest, isRefusal, type DecodedRequest } from '../../lib/protocol/envelope';

function decoded(body: string, count: number): DecodedRequest {
  const result = decodeRequest(Buffer.from(body), count, '/route');
  if (isRefusal(result)) throw new Error(`refused: ${result.message}`);
  return result;
}

describe('the request envelope', () => {
  it.each([
    [0, [], null],
    [1, ['one'], 'one'],
    [2, ['a', 2], ['a', 2]],
    [3, ['a'], ['a']],
  ])('a method of %i parameters sends its arguments as one payload', (count, values, payload) => {
    expect(argumentsToPayload(values, count)).toStrictEqual(payload);
  });

  it.each<[string, unknown[], number, string, unknown[]]>([
    ['trailing arguments left out', ['a'], 3, '["a"]', ['a']],
    ['trailing arguments passed as undefined', ['a', undefined, undefined], 3, '["a"]', ['a']],
    ['every argument left out', [], 2, '[]', []],
    ['one left out in the middle, as null', ['a', undefined, 'c'], 3, '["a",null,"c"]', ['a', null, 'c']],
    ['a null, kept', ['a', null], 3, '["a",null]', ['a', null]],
    ['the one argument left out, as no Payload', [undefined], 1, '', [undefined]],
    ['the one argument null, kept', [null], 1, 'null', [null]],
  ])('sends %s: the plugin gets the arguments after the last one given absent', (_, values, count, payload, args) => {
    const body = encodeRequest(argumentsToPayload(values, count), 0);
    expect(body).toBe(payload === '' ? '{"Context":{"Deadline":null}}' : `{"Context":{"Deadline":null},"Payload":${payload}}`);
    expect(decoded(body, count).args).toStrictEqual(args);
  });

  it('round-trips arguments and a deadline (to the millisecond)', () => {
    const deadline = Date.UTC(2026, 11, 6, 12, 0, 0, 123);
    const body = encodeRequest(argumentsToPayload(['x', { n: 1 }], 2), deadline);
    expect(body).toBe('{"Context":{"Deadline":"2026-12-06T12:00:00.123Z"},"Payload":["x",{"n":1}]}');
    expect(decoded(body, 2)).toEqual({ deadline, args: ['x', { n: 1 }] });
  });

  it('sends no deadline as null and an undefined payload as none', () => {
    const body = encodeRequest(undefined, 0);
    expect(body).toBe('{"Context":{"Deadline":null}}');
    expect(decoded(body, 1)).toStrictEqual({ deadline: undefined, args: [undefined] });
    expect(encodeRequest(null, 0)).toBe('{"Context":{"Deadline":null},"Payload":null}');
  });

  it('throws what JSON.stringify throws for a payload it cannot encode', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => encodeRequest(cycle, 0)).toThrow(TypeError);
    expect(() => encodeRequest(10n, 0)).toThrow(TypeError);
  });

  it('reads keys in any case, as Go does', () => {
    expect(decoded('{"context":{"deadline":null},"payload":"x"}', 1)).toEqual({ deadline: undefined, args: ['x'] });
    expect(decoded('{"payload":"lower","Payload":"exact"}', 1).args).toEqual(['exact']);
    expect(decoded('{"Context":null}', 1).args).toEqual([undefined]);
  });

  // Go's encoding/json assigns each key that matches the field, exactly or in another case, in the order written.
  it.each([
    ['{"Payload":1,"payload":2}', 2],
    ['{"payload":1,"Payload":2}', 2],
    ['{"PAYLOAD":1, "Payload" : 2 ,"payload":3}', 3],
    ['{"payload":1,"Payload":2,"payload":3}', 3],
    ['{"Payload":1,"payload":2,"Payload":3}', 3],
    ['{"Payload":{"a":"}\\"","b":[1,{"c":2}]},"payload":[true,null,-1.5e3],"other":"x"}', [true, null, -1500]],
    ['{"payload":[true,null,-1.5e3],"x":{"Payload":9},"Pay\\u006coad":{"a":"]"}}', { a: ']' }],
  ])('of duplicate keys that differ in case, takes the last written: %s', (body, payload) => {
    expect(decoded(body, 1).args).toEqual([payload]);
  });

  it('takes the last written of Context and Deadline keys that differ in case too', () => {
    const first = '2030-01-01T00:00:00Z';
    const last = '2031-01-01T00:00:00Z';
    expect(decoded(`{"Context":{"Deadline":"${first}","deadline":"${last}"},"Payload":1}`, 1).deadline).toBe(Date.parse(last));
    expect(decoded(`{"deadline":"${first}","Deadline":"${first}","DEADLINE":"${last}"}`.replace(/^/, '{"Context":') + ',"Payload":1}', 1).deadline).toBe(Date.parse(last));
    expect(decoded(`{"Context":{"Deadline":"${first}"},"context":{"Deadline":"${last}","deadline":null},"Payload":1}`, 1).deadline).toBeUndefined();
    expect(decoded(`{"context":{"Deadline":"${first}","deadline":null},"Context":{"Deadline":null,"DeadLine":"${last}"},"Payload":1}`, 1).deadline).toBe(Date.parse(last));
  });

  it('takes a missing or null payload of a method with several parameters as no arguments', () => {
    expect(decoded('{"Context":{}}', 2).args).toEqual([]);
    expect(decoded('{"Payload":null}', 2).args).toEqual([]);
    expect(decoded('{"Payload":["a"]}', 2).args).toEqual(['a']);
  });

  it.each([
    ['{', 'PLUGWIRE_PROTOCOL', 400, /not valid JSON/],
    ['[]', 'PLUGWIRE_VALIDATION', 422, /JSON object with Context and Payload/],
    ['"x"', 'PLUGWIRE_VALIDATION', 422, /JSON object/],
    ['{"Context":[]}', 'PLUGWIRE_VALIDATION', 422, /Context must be an object/],
    ['{"Context":{"Deadline":"tomorrow"}}', 'PLUGWIRE_VALIDATION', 422, /Deadline is not an RFC 3339 time: "tomorrow"/],
    ['{"Context":{"Deadline":5}}', 'PLUGWIRE_VALIDATION', 422, /got number/],
    ['{"Payload":[1,2,3]}', 'PLUGWIRE_VALIDATION', 422, /\/route takes 2 parameters, got an array of 3/],
    ['{"Payload":{"a":1}}', 'PLUGWIRE_VALIDATION', 422, /the payload must be a JSON array/],
  ])('refuses %s with %s (%i)', (body, code, status, message) => {
    const result = decodeRequest(Buffer.from(body), 2, '/route');
    expect(isRefusal(result)).toBe(true);
    expect(result).toMatchObject({ code, status, message: expect.stringMatching(message) });
  });
});
