import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rawAnswer, type Answer } from './answers';
import { afterEarlierAnswers, linger } from './linger';

/*
 * Answers written straight onto a connection, for the requests Node hands over without a
 * response object: one its parser gave up on ('clientError'), and CONNECT. Node's own
 * answers to these have empty bodies, or none at all: every answer must be a JSON string.
 */

/** Connections answered outside a response object, answered once only. */
const answeredRaw = new WeakSet<Socket>();

function ignore(): void {}

/**
 * Answers a connection whose request Node's parser rejected: 431 for headers too large,
 * 408 for a client too slow, 400 otherwise.
 *
 * @param answering - every response of the server not yet flushed
 * @param maxBytes - how much a lingering close discards at most
 * @internal
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket, answering: ReadonlySet<ServerResponse>, maxBytes: number): void {
  if (answeredRaw.has(socket)) return;
  answeredRaw.add(socket);
  // The parser gave up on this connection: stop feeding it.
  socket.removeAllListeners('data');
  // A request broken after its headers has a response object: the last one on the
  // connection, its request unfinished. The requests before it were read whole.
  let own: ServerResponse | undefined;
  for (const res of answering) if (res.req.socket === socket) own = res;
  if (own?.req.complete) own = undefined;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  afterEarlierAnswers(answering, socket, own, () => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    if (own?.headersSent) {
      // Its own answer (401, 413) went out first: nothing can follow it.
      afterEarlierAnswers(answering, socket, undefined, () => socket.destroySoon());
      return;
    }
    const text = rawAnswer(status, `${STATUS_CODES[status]?.toLowerCase() ?? 'bad request'}: ${error.code ?? error.message}`);
    // A slow client (408) is cut off; one that may still be sending (400, 431) gets the
    // time to read its answer.
    if (status === 408) {
      socket.end(text);
      socket.destroySoon();
      return;
    }
    socket.write(text);
    linger(undefined, socket, maxBytes);
  });
}

/**
 * Answers a CONNECT request: with the refusal it earned (401, 431), else 405.
 *
 * @param refusal - the answer of the checks every request goes through first, if it failed them
 * @param answering - every response of the server not yet flushed
 * @param maxBytes - how much a lingering close discards at most
 * @internal
 */
export function answerConnect(socket: Socket, refusal: Answer | undefined, answering: ReadonlySet<ServerResponse>, maxBytes: number): void {
  // Node takes its own 'error' listener off a socket it hands over: without one, a
  // client that is gone before its answer is written (EPIPE, ECONNRESET) would be an
  // unhandled 'error' event that ends the process.
  socket.on('error', ignore);
  const text = refusal ? rawAnswer(refusal.status, refusal.wire.message) : rawAnswer(405, 'method CONNECT not allowed: calls are POST requests');
  // A CONNECT pipelined after other requests is answered after them.
  afterEarlierAnswers(answering, socket, undefined, () => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.write(text);
    linger(undefined, socket, maxBytes);
  });
}
