import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/*
 * Lingering close (RFC 9112 §9.6): a connection answered before its request was read
 * whole is not closed at once, which would reset a client that is still sending before
 * it reads the answer. Whatever is written straight to the socket, or closes it, waits
 * for the answers of earlier pipelined requests.
 */

/** After an early answer, a connection is closed once the client is silent this long, ms. */
const LINGER_IDLE = 1000;
/** ... or at the latest after this long, ms. */
const LINGER_MAX = 5000;

/**
 * Reads and discards what a client still sends after it was answered, for a bounded
 * amount and time, then closes the connection. A request whose body ends in time leaves
 * the connection open for the next one.
 *
 * @param request - the request answered early, or `undefined` for a connection answered
 * outside a response object (its socket is read directly)
 * @param socket - the connection
 * @param maxBytes - how much is discarded at most before the connection is closed
 * @internal
 */
export function linger(request: IncomingMessage | undefined, socket: Socket, maxBytes: number): void {
  let discarded = 0;
  let idle: NodeJS.Timeout | undefined;
  const done = (): void => {
    clearTimeout(idle);
    clearTimeout(overall);
    socket.removeListener('data', onData);
    socket.removeListener('end', close);
    socket.removeListener('close', done);
    request?.removeListener('end', done);
  };
  const close = (): void => {
    done();
    socket.destroy();
  };
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(close, LINGER_IDLE);
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded <= maxBytes) {
      arm();
      return;
    }
    // Enough was discarded: stop reading and send the end of the answer, then close.
    // Closed at once, with the client's bytes unread, the connection would be reset, and
    // a client busy writing could lose the answer it has not read yet.
    // The request is being dumped (Node reads its body on for it): paused, it no longer
    // restarts the socket's reading, which the HTTP parser consumes below the stream.
    socket.removeListener('data', onData);
    request?.pause();
    socket.pause();
    socket.end();
    clearTimeout(overall);
    arm();
  };
  const overall = setTimeout(close, LINGER_MAX);
  // Count raw bytes on the socket: Node itself drains the request body (req._dump).
  socket.on('data', onData);
  socket.once('end', close);
  socket.once('close', done);
  request?.once('end', done);
  if (!request) socket.resume();
  arm();
}

/**
 * Lingers after an answer given before its request's body arrived, once that answer is
 * flushed: until then it may wait behind a slow answer to an earlier pipelined request,
 * which a linger that closes the connection would cut off.
 * @internal
 */
export function lingerAfter(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  const start = (): void => {
    if (!req.complete && !req.socket.destroyed) linger(req, req.socket, maxBytes);
  };
  if (res.writableFinished) start();
  else res.once('finish', start);
}

/**
 * Runs `then` once every answer on this connection (but `except`) is flushed or gone.
 * Node queues the answers of pipelined requests in request order, but what is written
 * to the socket directly (a raw answer) or closes it (a linger) would overtake them.
 *
 * @param answering - every response of the server not yet flushed
 * @internal
 */
export function afterEarlierAnswers(answering: Iterable<ServerResponse>, socket: Socket, except: ServerResponse | undefined, then: () => void): void {
  let waiting = 1;
  const one = (): void => {
    if (--waiting === 0) then();
  };
  for (const res of answering) {
    if (res === except || res.req.socket !== socket || res.writableFinished) continue;
    waiting++;
    let counted = false;
    const done = (): void => {
      if (counted) return;
      counted = true;
      res.off('finish', done);
      res.off('close', done);
      one();
    };
    res.once('finish', done);
    res.once('close', done);
  }
  one();
}
