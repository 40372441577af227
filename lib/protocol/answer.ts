import type { IncomingHttpHeaders } from 'node:http';
import { ProtocolError } from '../errors/plugin-error';
import { nodeZlib } from '../util/lazy';
import { ERROR_HEADER } from './constants';
import { fromWireError } from './wire-error';

/*
 * The answer, both halves: the body a plugin sends for a call that succeeded, and how a
 * host reads whatever answer comes back. Version 1 (Go's plugin.Response) answers 200 with
 * the result as JSON; any other status carries the error as a JSON string (see wire-error.ts
 * for what a plugwire plugin puts in it).
 */

/** The content type of every answer a plugwire plugin sends, success or error. @internal */
export const ANSWER_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The body of a successful answer: the result as JSON (`null` for `undefined`), with a
 * newline, as Go's `json.Encoder` writes it. Sent with status 200 and
 * {@link ANSWER_CONTENT_TYPE}.
 *
 * @param value - the result, already plain JSON data
 * @returns the body
 * @throws what `JSON.stringify` throws (a cycle, a BigInt)
 * @internal
 */
export function encodeAnswer(value: unknown): string {
  return `${JSON.stringify(value) ?? 'null'}\n`;
}

/** An answer as a host received it: its status, headers and body chunks. @internal */
export interface ReceivedAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly chunks: readonly Buffer[];
}

/**
 * The error that stops an answer whose `Content-Length` is over the limit, before its
 * body is read. Its message begins with `answer`, which the client completes with the
 * plugin and the route.
 *
 * @param size - the announced length, bytes
 * @param maxSize - the largest body accepted, bytes
 * @param statusCode - the answer's status
 * @returns a `PLUGWIRE_PROTOCOL` error
 * @internal
 */
export function answerTooLarge(size: string | undefined, maxSize: number, statusCode: number): ProtocolError {
  return new ProtocolError(`answer is ${String(size)} bytes, more than maxResponseSize (${maxSize})`, { statusCode });
}

/**
 * Reads a complete answer: unzips it when a Go plugin gzipped it, turns an error status
 * into the error the plugin sent, and parses the JSON result.
 *
 * @param answer - the status, headers and body chunks
 * @param route - the route called, for messages and the error's `route`
 * @param plugin - the plugin's name, for messages
 * @param maxSize - the largest body accepted once unzipped, bytes
 * @returns the result
 * @throws the `PluginError` of an error answer (see `fromWireError`), or a
 * `ProtocolError` for a body that is not valid gzip, is larger than `maxSize` once
 * unzipped, or is not JSON
 * @internal
 */
export function decodeAnswer(answer: ReceivedAnswer, route: string, plugin: string, maxSize: number): unknown {
  const { statusCode, headers, chunks } = answer;
  let raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  // A Go plugin gzips its answer when the request accepts it; a Go host always does.
  if (headers['content-encoding'] === 'gzip') {
    try {
      raw = nodeZlib().gunzipSync(raw, { maxOutputLength: maxSize });
    } catch (error) {
      throw new ProtocolError(`answer from plugin ${plugin} to ${route} is not valid gzip or larger than maxResponseSize: ${(error as Error).message}`, { route, statusCode, cause: error });
    }
  }
  const text = raw.toString('utf8');
  if (statusCode !== 200) throw fromWireError(statusCode, text, headers[ERROR_HEADER] !== undefined, route);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(`answer from plugin ${plugin} to ${route} is not JSON: ${JSON.stringify(text.slice(0, 120))}`, { route, statusCode });
  }
}
