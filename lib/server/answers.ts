import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { ErrorStatus } from '../errors/error-codes';
import { ANSWER_CONTENT_TYPE } from '../protocol/answer';
import { ERROR_HEADER, VERSION_HEADER } from '../protocol/constants';
import type { WireError } from '../protocol/wire-error';

/*
 * The error answers of a plugin server: what a refused or failed call gets, written into a
 * response object, or whole onto a connection that has none (a request the parser gave up
 * on, a CONNECT). A call that succeeded is answered with protocol/answer.ts's encodeAnswer().
 */

/**
 * An error answer: the structured error and its HTTP status. A plain object, passed
 * along the pipeline and never thrown, so it captures no stack. @internal
 */
export interface Answer {
  readonly wire: WireError;
  readonly status: number;
}

/** An error answer with a code and message; its status is the code's unless given. @internal */
export function answer(code: keyof typeof ErrorStatus, message: string, status: number = ErrorStatus[code]): Answer {
  return { wire: { code, message }, status };
}

/** The answer to a request body larger than `limit` bytes. @internal */
export function tooLarge(limit: number): Answer {
  return answer('PLUGWIRE_PROTOCOL', `request body larger than ${limit} bytes`, 413);
}

/**
 * Writes an error answer into a response whose headers are not sent yet. A plugwire host
 * gets the structured error inside the JSON string; a version 1 host gets the message
 * alone, as a Go plugin would send it.
 * @internal
 */
export function writeError(req: IncomingMessage, res: ServerResponse, { wire, status }: Answer): void {
  const structured = req.headers[VERSION_HEADER] !== undefined;
  const text = `${JSON.stringify(structured ? JSON.stringify(wire) : wire.message)}\n`;
  const headers: Record<string, string | number> = { 'Content-Type': ANSWER_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) };
  if (structured) headers[ERROR_HEADER] = '1';
  res.writeHead(status, headers);
  res.end(text);
}

/** A whole HTTP answer with a JSON-string body, for the cases where Node gives no response object. @internal */
export function rawAnswer(status: number, message: string): string {
  const body = `${JSON.stringify(message)}\n`;
  const extra = status === 405 ? 'Allow: POST\r\n' : status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${ANSWER_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}
