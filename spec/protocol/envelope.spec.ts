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
    [3, ['a'], ['a', undefined, undefined]],
  ])('a method of %i parameters sends its arguments as one payload', (count, values, payload) => {
    expect(argumentsToPayload(values, count)).toEqual(payload);
  });

  it('round-trips arguments and a deadline (to the millisecond)', () => {
    const deadline = Date.UTC(2026, 11, 6, 12, 0, 0, 123);
    const body = encodeRequest(argumentsToPayload(['x', { n: 1 }], 2), deadline);
    expect(body).toBe('{"Context":{"Deadline":"2026-12-06T12:00:00.123Z"},"Payload":["x",{"n":1}]}');
    expect(decoded(body, 2)).toEqual({ deadline, args: ['x', { n: 1 }] });
  });

  it('sends no deadline as null and an undefined payload as null', () => {
    const body = encodeRequest(undefined, 0);
    expect(body).toBe('{"Context":{"Deadline":null},"Payload":null}');
    expect(decoded(body, 1)).toEqual({ deadline: undefined, args: [null] });
  });

  it('throws what JSON.stringify throws for a payload it cannot encode', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => encodeRequest(cycle, 0)).toThrow(TypeError);
    expect(() => encodeRequest(10n, 0)).toThrow(TypeError);
  });

  it('reads keys in any case, as Go does, and the exact key first', () => {
    expect(decoded('{"context":{"deadline":null},"payload":"x"}', 1)).toEqual({ deadline: undefined, args: ['x'] });
    expect(decoded('{"payload":"lower","Payload":"exact"}', 1).args).toEqual(['exact']);
    expect(decoded('{"Context":null}', 1).args).toEqual([undefined]);
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
