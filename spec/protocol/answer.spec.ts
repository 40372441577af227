// The answer, both halves, without a socket: the body a plugin sends for a result, and how
// a host reads an answer (plain or gzipped, an error status, a body that is not JSON).
import { gzipSync } from 'node:zlib';
import { ANSWER_CONTENT_TYPE, answerTooLarge, decodeAnswer, encodeAnswer, type ReceivedAnswer } from '../../lib/protocol/answer';
import { encodeWireError } from '../../lib/protocol/wire-error';
import { PluginError } from '../../lib/errors/plugin-error';

const LIMIT = 1024;

function received(statusCode: number, body: string | Buffer, headers: ReceivedAnswer['headers'] = {}, pieces = 1): ReceivedAnswer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const size = Math.ceil(bytes.length / pieces);
  const chunks = Array.from({ length: pieces }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  return { statusCode, headers, chunks };
}

function thrown(run: () => unknown): PluginError {
  try {
    run();
  } catch (error) {
    if (PluginError.is(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('encodeAnswer()', () => {
  it.each<[unknown, string]>([
    [{ a: 1 }, '{"a":1}\n'],
    ['text', '"text"\n'],
    [null, 'null\n'],
    [undefined, 'null\n'],
  ])('encodes %j as JSON and a newline, as Go does', (value, body) => {
    expect(encodeAnswer(value)).toBe(body);
  });

  it('throws what JSON.stringify throws', () => {
    expect(() => encodeAnswer(10n)).toThrow(TypeError);
  });

  it('is sent as JSON in UTF-8', () => {
    expect(ANSWER_CONTENT_TYPE).toBe('application/json; charset=utf-8');
  });
});

describe('decodeAnswer()', () => {
  it('reads what encodeAnswer() wrote, in one chunk or several', () => {
    const value = { name: 'ü', list: [1, 2, 3] };
    expect(decodeAnswer(received(200, encodeAnswer(value)), '/r', 'p', LIMIT)).toEqual(value);
    expect(decodeAnswer(received(200, encodeAnswer(value), {}, 3), '/r', 'p', LIMIT)).toEqual(value);
  });

  it('reads an empty chunk list as an empty body, which is not JSON', () => {
    const error = thrown(() => decodeAnswer({ statusCode: 200, headers: {}, chunks: [] }, '/r', 'p', LIMIT));
    expect(error.message).toBe('answer from plugin p to /r is not JSON: ""');
  });

  it('unzips an answer a Go plugin gzipped', () => {
    expect(decodeAnswer(received(200, gzipSync('"zipped"\n'), { 'content-encoding': 'gzip' }), '/r', 'p', LIMIT)).toBe('zipped');
  });

  it('refuses a gzipped answer larger than the limit once unzipped, and one that is not gzip', () => {
    const big = thrown(() => decodeAnswer(received(200, gzipSync(JSON.stringify('x'.repeat(LIMIT * 2))), { 'content-encoding': 'gzip' }), '/r', 'p', LIMIT));
    expect(big.code).toBe('PLUGWIRE_PROTOCOL');
    expect(big.message).toMatch(/^answer from plugin p to \/r is not valid gzip or larger than maxResponseSize: /);
    const broken = thrown(() => decodeAnswer(received(200, 'not gzip', { 'content-encoding': 'gzip' }), '/r', 'p', LIMIT));
    expect(broken.code).toBe('PLUGWIRE_PROTOCOL');
  });

  it('turns an error status into the error the plugin sent', () => {
    const wire = encodeWireError({ code: 'PLUGWIRE_TIMEOUT', message: 'too slow' }, true);
    const timeout = thrown(() => decodeAnswer(received(504, wire, { 'x-plugwire-error': '1' }), '/r', 'p', LIMIT));
    expect(timeout.code).toBe('PLUGWIRE_TIMEOUT');
    expect(timeout.message).toBe('too slow');
    const missing = thrown(() => decodeAnswer(received(404, '"no such route"\n'), '/r', 'p', LIMIT));
    expect(missing.code).toBe('PLUGWIRE_METHOD_NOT_FOUND');
    expect(missing.route).toBe('/r');
  });

  it('says so, with the start of the body, when a 200 answer is not JSON', () => {
    const error = thrown(() => decodeAnswer(received(200, '<html>'), '/r', 'p', LIMIT));
    expect(error.code).toBe('PLUGWIRE_PROTOCOL');
    expect(error.message).toBe('answer from plugin p to /r is not JSON: "<html>"');
  });
});

describe('answerTooLarge()', () => {
  it('names the announced size and the limit', () => {
    const error = answerTooLarge('2048', LIMIT, 200);
    expect(error.code).toBe('PLUGWIRE_PROTOCOL');
    expect(error.message).toBe('answer is 2048 bytes, more than maxResponseSize (1024)');
  });
});
