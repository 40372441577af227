// A stream's answer read frame by frame (StreamCall through StreamExchange and the
// FrameDecoder): the items the loop gets, and how it ends, do not depend on where the body
// was cut into chunks, nor on whether the loop took an item before the next chunk came.
import fc from 'fast-check';
import type { Dispatcher } from 'undici';
import { StreamCall, type StreamOwner } from '../../lib/client/stream-call';
import { END_FRAME, STREAM_HEADER, STREAM_VERSION, encodeErrorFrame, encodeItemFrame } from '../../lib/protocol/stream';

/** Lets the loop take what it has before the next chunk comes. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A plugin that answers 200 with frames, written in `chunks`, one per turn of the event loop. */
function ownerWriting(chunks: readonly Buffer[]): StreamOwner {
  return {
    name: 'frames',
    maxResponseSize: 128,
    timeout: 0,
    closing: () => false,
    dispatch: (_route, _body, _headers, handler) => {
      let aborted = false;
      const controller = {
        get aborted() {
          return aborted;
        },
        paused: false,
        reason: null,
        pause() {},
        resume() {},
        abort(reason: Error) {
          if (aborted) return;
          aborted = true;
          handler.onResponseError?.(controller, reason);
        },
      } as unknown as Dispatcher.DispatchController;
      handler.onRequestStart?.(controller, {});
      handler.onResponseStart?.(controller, 200, { [STREAM_HEADER]: STREAM_VERSION }, 'OK');
      void (async () => {
        for (const chunk of chunks) {
          await turn();
          if (aborted) return;
          handler.onResponseData?.(controller, chunk);
        }
        await turn();
        if (!aborted) handler.onResponseEnd?.(controller, {});
      })();
    },
    open: async (stream) => {
      await stream.exchange(1);
    },
    answered: () => undefined,
    settled: () => undefined,
  };
}

interface Outcome {
  items: unknown[];
  /** 'end', or the code the loop threw. */
  end: string;
}

async function read(chunks: readonly Buffer[]): Promise<Outcome> {
  const stream = new StreamCall(ownerWriting(chunks), '/frames', undefined, {}, () => null, undefined, undefined);
  const items: unknown[] = [];
  try {
    for await (const item of stream) items.push(item);
  } catch (error) {
    return { items, end: (error as { code?: string }).code ?? String(error) };
  }
  return { items, end: 'end' };
}

const remote = { code: 'PLUGWIRE_REMOTE' as const, message: 'bad', remote: { name: 'E', message: 'bad' } };

/** What a line of the body is, for the outcome the spec expects. */
type Line = { kind: 'item'; value: number } | { kind: 'end' } | { kind: 'error' } | { kind: 'blank' } | { kind: 'bad'; text: string };

const lineArb: fc.Arbitrary<Line> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 99 }).map((value) => ({ kind: 'item' as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'end' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'error' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('not json', '{"foo":1}', '{"end":false}', '[1]', `{"item":"${'x'.repeat(200)}"}`).map((text) => ({ kind: 'bad' as const, text })),
  },
);

function text(line: Line): string {
  switch (line.kind) {
    case 'item':
      return encodeItemFrame(line.value);
    case 'end':
      return END_FRAME;
    case 'error':
      return encodeErrorFrame(remote);
    case 'blank':
      return '\n';
    case 'bad':
      return `${line.text}\n`;
  }
}

/**
 * The outcome the frames call for: the items up to the closing frame, which decides how the
 * stream ends (what follows it changes nothing), or up to a frame that cannot be read,
 * which is PLUGWIRE_PROTOCOL after them, as is a body that ends without its closing frame.
 */
function expected(lines: readonly Line[]): Outcome {
  const items: unknown[] = [];
  for (const line of lines) {
    if (line.kind === 'item') items.push(line.value);
    else if (line.kind === 'end') return { items, end: 'end' };
    else if (line.kind === 'error') return { items, end: 'PLUGWIRE_REMOTE' };
    else if (line.kind === 'bad') return { items, end: 'PLUGWIRE_PROTOCOL' };
  }
  return { items, end: 'PLUGWIRE_PROTOCOL' };
}

/** The body cut at `cuts` (byte offsets, inside a frame or a character too). */
function split(body: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(body.subarray(at, cut));
    at = cut;
  }
  chunks.push(body.subarray(at));
  return chunks.filter((chunk) => chunk.length > 0);
}

describe('a frame stream read by the host', () => {
  it('gives the same items and the same end however the body is cut into chunks', async () => {
    const caseArb = fc
      .record({ lines: fc.array(lineArb, { minLength: 1, maxLength: 8 }), tail: fc.constantFrom('', '{"item":') })
      .chain(({ lines, tail }) => {
        const body = Buffer.from(lines.map(text).join('') + tail);
        return fc.record({
          lines: fc.constant(lines),
          body: fc.constant(body),
          cuts: fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, body.length - 1) }), { maxLength: 12 }),
        });
      });
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ lines, body, cuts }) => {
        const whole = await read([body]);
        expect(whole).toEqual(expected(lines));
        expect(await read(split(body, cuts))).toEqual(whole);
        expect(await read(split(body, Array.from({ length: body.length - 1 }, (_, i) => i + 1)))).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ['a frame that is not JSON after an item', ['{"item":1}\nnot json\n{"end":true}\n'], ['{"item":1}\n', 'not json\n{"end":true}\n'], { items: [1], end: 'PLUGWIRE_PROTOCOL' }],
    ['an error frame, then more', [`{"item":1}\n${encodeErrorFrame(remote)}{"item":2}\n`], [`{"item":1}\n${encodeErrorFrame(remote)}`, '{"item":2}\n'], { items: [1], end: 'PLUGWIRE_REMOTE' }],
    ['an end frame, then junk', ['{"item":1}\n{"end":true}\njunk\n'], ['{"item":1}\n{"end":true}\n', 'junk\n'], { items: [1], end: 'end' }],
  ])('%s: the same in one chunk as in two', async (_label, one, two, outcome) => {
    expect(await read(one.map((chunk) => Buffer.from(chunk)))).toEqual(outcome);
    expect(await read(two.map((chunk) => Buffer.from(chunk)))).toEqual(outcome);
  });
});
