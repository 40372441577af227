import type { WireError } from './wire-error';

/*
 * Streamed results, both halves (an extension: a version 1 peer never sees it). A host that
 * reads frames says so with `x-plugwire-stream: 1` on the request, beside
 * `x-plugwire-version`. A plugin answers a stream method's call that carries it with status
 * 200, `x-plugwire-stream: 1`, content type application/x-ndjson and a chunked body of
 * frames, one JSON object per line:
 *
 *   {"item":<value>}      one item, as many as the method yields
 *   {"end":true}          the stream ended normally: always the last frame
 *   {"error":<WireError>} the stream failed: always the last frame
 *
 * A body that ends without one of the two closing frames was cut off. A call that fails
 * before its first item (a bad argument, no such route) gets an ordinary error answer. A
 * caller that does not ask for frames (a Go host) gets the whole stream as one JSON array.
 */

/** The request and answer header that negotiates a frame stream. @internal */
export const STREAM_HEADER = 'x-plugwire-stream';
/** Its value: the frame format's version. @internal */
export const STREAM_VERSION = '1';
/** The content type of a frame stream. @internal */
export const STREAM_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/** One frame of a stream. @internal */
export type StreamFrame =
  | { readonly kind: 'item'; readonly value: unknown }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: WireError };

/** The frame that ends a stream normally. @internal */
export const END_FRAME = '{"end":true}\n';

/**
 * Encodes one item (plain JSON data).
 * @throws what `JSON.stringify` throws (a cycle, a BigInt)
 * @internal
 */
export function encodeItemFrame(value: unknown): string {
  return `{"item":${JSON.stringify(value) ?? 'null'}}\n`;
}

/** Encodes the frame that ends a stream with an error. @internal */
export function encodeErrorFrame(error: WireError): string {
  return `{"error":${JSON.stringify(error)}}\n`;
}

/** Why a frame stream cannot be read; the reader turns it into a `PLUGWIRE_PROTOCOL` error. @internal */
export class FrameError extends Error {}

function frameOf(line: string): StreamFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new FrameError(`a stream frame is not JSON: ${JSON.stringify(line.slice(0, 120))}`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1) {
      if (keys[0] === 'item') return { kind: 'item', value: record['item'] };
      if (keys[0] === 'end' && record['end'] === true) return { kind: 'end' };
      const error = record['error'];
      if (keys[0] === 'error' && typeof error === 'object' && error !== null && typeof (error as WireError).code === 'string' && typeof (error as WireError).message === 'string') {
        return { kind: 'error', error: error as WireError };
      }
    }
  }
  throw new FrameError(`not a stream frame: ${JSON.stringify(line.slice(0, 120))}`);
}

/**
 * Splits a frame stream's body into frames as its chunks arrive. A frame may span chunks,
 * and a chunk may end inside a UTF-8 character: lines are cut at the newline byte, which
 * never occurs inside a multi-byte character. What it returns never depends on where the
 * body was cut into chunks: the frames before a bad one are returned, then nothing more.
 * @internal
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  private broken: FrameError | undefined;

  /** @param maxFrameBytes - the longest frame accepted (an item larger than this is refused) */
  constructor(private readonly maxFrameBytes: number) {}

  /** Whether a closing frame (end or error) has been read. */
  get closed(): boolean {
    return this.done;
  }

  /**
   * Why the body cannot be read on: a frame that is not one, one that is too long, or data
   * after the closing frame. Set, nothing more is read; the frames before it were returned.
   */
  get failure(): FrameError | undefined {
    return this.broken;
  }

  /**
   * Takes the next chunk of the body. Never throws: a frame that cannot be read ends the
   * reading (see {@link failure}), and those before it, in this chunk too, are returned
   * first, as they would be had the chunk ended before it.
   * @returns the frames completed by it, in order
   */
  push(chunk: Buffer): StreamFrame[] {
    const frames: StreamFrame[] = [];
    if (this.broken) return frames;
    try {
      this.read(chunk, frames);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.broken = error;
      this.pending = [];
      this.pendingBytes = 0;
    }
    return frames;
  }

  private read(chunk: Buffer, frames: StreamFrame[]): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      this.checkSize(piece.length);
      const line = this.pending.length === 0 ? piece.toString('utf8') : Buffer.concat([...this.pending, piece]).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      if (line.trim() === '') continue;
      if (this.done) throw new FrameError('data after the stream ended');
      const frame = frameOf(line);
      if (frame.kind !== 'item') this.done = true;
      frames.push(frame);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkSize(rest.length);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
  }

  /**
   * The body ended.
   * @throws {@link FrameError} when it ended inside a frame
   */
  end(): void {
    if (this.pendingBytes > 0 && Buffer.concat(this.pending).toString('utf8').trim() !== '') {
      throw new FrameError('the stream ended inside a frame');
    }
  }

  private checkSize(more: number): void {
    if (this.pendingBytes + more > this.maxFrameBytes) {
      throw new FrameError(`a stream frame is larger than ${this.maxFrameBytes} bytes`);
    }
  }
}
