import type { IncomingMessage, ServerResponse } from 'node:http';
import { ANSWER_CONTENT_TYPE } from '../protocol/answer';
import { answerReservedRoute, type EndpointServer } from './manifest-endpoint';

/** The body of every health answer: small and fixed, so that answering it costs nothing. */
const HEALTH_BODY = '{"status":"ok"}\n';
const HEALTH_HEADERS = { 'Content-Type': ANSWER_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(HEALTH_BODY), 'Cache-Control': 'no-store' };

/**
 * Answers a request to the health route (`/.plugwire/health`): 200 and
 * `{"status":"ok"}` once the request is read, without touching user code. The host's
 * liveness check calls it: an answer shows that the plugin's event loop turns, which is
 * all it claims (a plugin whose methods fail still answers it). The token was checked
 * before, as for every route.
 * @internal
 */
export function answerHealth(server: EndpointServer, req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
  answerReservedRoute(server, req, res, expectsContinue, 'the health route', () => {
    // For HEAD, Node sends the headers alone.
    res.writeHead(200, HEALTH_HEADERS);
    res.end(HEALTH_BODY);
  });
}
