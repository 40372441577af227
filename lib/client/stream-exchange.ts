import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { AbortedError } from '../errors/plugin-error';
import { answerTooLarge } from '../protocol/answer';
import { FrameDecoder, STREAM_HEADER, STREAM_VERSION, type StreamFrame } from '../protocol/stream';
import type { Attempt } from './reach';

/** What a stream's request reports to: the stream call. @internal */
export interface ExchangeReader {
  /** The stream's request in flight; an older one is cut as it starts. */
  readonly current: StreamExchange | undefined;
  /** Why the stream was ended from the host's side, if it was. */
  readonly reason: Error | undefined;
  readonly owner: { readonly maxResponseSize: number };
  /** The answer began (any status). */
  began(exchange: StreamExchange): void;
  /** Frames of a frame stream arrived. */
  received(exchange: StreamExchange, frames: readonly StreamFrame[], bytes: number): void;
  /** The answer cannot be read on: too large, or not frames. */
  broke(exchange: StreamExchange, error: Error): void;
  /** The answer's body ended. */
  ended(exchange: StreamExchange): void;
  /** The request or its answer broke off. */
  failed(exchange: StreamExchange, error: Error): void;
}

/** One request of a stream through undici's dispatch(): its answer, read frame by frame. @internal */
export class StreamExchange implements Dispatcher.DispatchHandler, Attempt {
  answering = false;
  failure: Error | undefined;
  control: Dispatcher.DispatchController | undefined;
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** Frames, for a frame stream; else the whole body is kept (an error, or a version 1 answer). */
  decoder: FrameDecoder | undefined;
  readonly chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly stream: ExchangeReader) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.control = controller;
    if (this.stream.current !== this || this.stream.reason) controller.abort(this.stream.reason ?? new AbortedError('request no longer wanted'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return;
    this.statusCode = status;
    this.headers = headers;
    this.answering = true;
    const limit = this.stream.owner.maxResponseSize;
    if (status === 200 && headers[STREAM_HEADER] === STREAM_VERSION) this.decoder = new FrameDecoder(limit);
    else if (Number(headers['content-length']) > limit) this.stream.broke(this, answerTooLarge(headers['content-length'], limit, status));
    this.stream.began(this);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.decoder) {
      this.bytes += chunk.length;
      this.chunks.push(chunk);
      const limit = this.stream.owner.maxResponseSize;
      if (this.bytes > limit) this.stream.broke(this, answerTooLarge(String(this.bytes), limit, this.statusCode));
      return;
    }
    // The frames before one that cannot be read count, in this chunk too: what the loop
    // gets must not depend on where the body was cut into chunks.
    this.stream.received(this, this.decoder.push(chunk), chunk.length);
    const failure = this.decoder.failure;
    if (failure) this.stream.broke(this, failure);
  }

  onResponseEnd(): void {
    this.stream.ended(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.failure = error;
    this.stream.failed(this, error);
  }
}
