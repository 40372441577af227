// Stream frames, both halves: what a plugin writes is what a host reads, however the body
// is cut into chunks.
import { END_FRAME, encodeErrorFrame, encodeItemFrame, FrameDecoder, FrameError, type StreamFrame } from '../../lib/protocol/stream';

function decodeAll(body: string, cut: number[], max = 1 << 20): StreamFrame[] {
  const bytes = Buffer.from(body);
  const decoder = new FrameDecoder(max);
  const frames: StreamFrame[] = [];
  let at = 0;
  for (const end of [...cut, bytes.length]) {
    frames.push(...decoder.push(bytes.subarray(at, end)));
    at = end;
  }
  if (decoder.failure) throw decoder.failure;
  decoder.end();
  return frames;
}

describe('stream frames', () => {
  const body = encodeItemFrame({ text: 'héllo ✓' }) + encodeItemFrame(undefined) + encodeItemFrame([1, 2]) + END_FRAME;

  it('round-trip items and the end, whole or cut anywhere (inside a character too)', () => {
    const expected = [
      { kind: 'item', value: { text: 'héllo ✓' } },
      { kind: 'item', value: null },
      { kind: 'item', value: [1, 2] },
      { kind: 'end' },
    ];
    expect(decodeAll(body, [])).toEqual(expected);
    const length = Buffer.byteLength(body);
    for (let cut = 1; cut < length; cut++) expect(decodeAll(body, [cut])).toEqual(expected);
    expect(decodeAll(body, Array.from({ length: length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('round-trips a closing error', () => {
    const error = { code: 'PLUGWIRE_REMOTE' as const, message: 'boom', remote: { name: 'Error', message: 'boom' } };
    expect(decodeAll(encodeItemFrame(1) + encodeErrorFrame(error), [])).toEqual([{ kind: 'item', value: 1 }, { kind: 'error', error }]);
  });

  it.each([
    ['{"item":1}\n{"end":true}\n{"item":2}\n', /data after the stream ended/],
    ['not json\n', /not JSON/],
    ['{"item":1,"end":true}\n', /not a stream frame/],
    ['{"end":false}\n', /not a stream frame/],
    ['{"error":{"message":"no code"}}\n', /not a stream frame/],
    ['[1]\n', /not a stream frame/],
    ['{"item":1', /ended inside a frame/],
  ])('refuses %j', (text, message) => {
    expect(() => decodeAll(text, [])).toThrow(message);
    expect(() => decodeAll(text, [])).toThrow(FrameError);
  });

  it('refuses a frame longer than the limit, even before its newline arrives', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(Buffer.from('{"item":"0123456789'))).toEqual([]);
    expect(decoder.failure?.message).toMatch(/larger than 16 bytes/);
    expect(decodeAll('{"item":"01234"}\n', [], 16)).toEqual([{ kind: 'item', value: '01234' }]);
  });

  it.each([
    ['not JSON', '{"item":1}\n{"item":2}\nnot json\n{"item":3}\n', /not JSON/],
    ['data after the end', '{"item":1}\n{"item":2}\n{"end":true}\n{"item":3}\n', /data after the stream ended/],
    ['too long', '{"item":1}\n{"item":2}\n{"item":"0123456789012345678901234567890123456789"}\n', /larger than 32 bytes/],
  ])('returns the frames before a bad one, in the same chunk too, then nothing more (%s)', (_label, body, message) => {
    const before = body.startsWith('{"item":1}\n{"item":2}\n{"end"') ? [{ kind: 'item', value: 1 }, { kind: 'item', value: 2 }, { kind: 'end' }] : [{ kind: 'item', value: 1 }, { kind: 'item', value: 2 }];
    const decoder = new FrameDecoder(32);
    expect(decoder.push(Buffer.from(body))).toEqual(before);
    expect(decoder.failure).toBeInstanceOf(FrameError);
    expect(decoder.failure?.message).toMatch(message);
    expect(decoder.push(Buffer.from('{"item":4}\n'))).toEqual([]);
  });

  it('says when a closing frame was read', () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(Buffer.from(encodeItemFrame(1)));
    expect(decoder.closed).toBe(false);
    decoder.push(Buffer.from(END_FRAME));
    expect(decoder.closed).toBe(true);
  });
});
