import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildManifest, type Manifest } from '../manifest/manifest';
import { ANSWER_CONTENT_TYPE } from '../protocol/answer';
import { readPlugin } from '../metadata/reflection-helpers';
import { answer, type Answer } from './answers';
import type { Route } from './route-table';

/** The methods the manifest and the health route answer. */
const MANIFEST_METHODS = 'GET, HEAD, POST, OPTIONS';

/** What the manifest endpoint needs of its server. @internal */
export interface EndpointServer {
  sendError(req: IncomingMessage, res: ServerResponse, answer: Answer): void;
  /** Answers 500 for a failure of the server's own, and reports it. */
  unexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void;
  /** Lingers after an answer given before the request's body arrived. */
  lingerAfter(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Answers a request to one of plugwire's own read-only routes (the manifest, the health
 * route): GET, HEAD and POST with `respond()` once the request is read, OPTIONS with the
 * methods allowed, anything else with 405. The token was checked before.
 *
 * @param where - the route, for the 405's message: `the manifest`
 * @param respond - writes the answer
 * @internal
 */
export function answerReservedRoute(server: EndpointServer, req: IncomingMessage, res: ServerResponse, expectsContinue: boolean, where: string, respond: () => void): void {
  if (req.method === 'GET' || req.method === 'POST' || req.method === 'HEAD') {
    req.on('end', respond);
    if (expectsContinue) res.writeContinue();
    req.resume();
    return;
  }
  res.setHeader('Allow', MANIFEST_METHODS);
  if (req.method === 'OPTIONS') {
    res.writeHead(204);
    res.end();
    if (!req.complete) server.lingerAfter(req, res);
    return;
  }
  server.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `method ${req.method ?? ''} not allowed on ${where}: ${MANIFEST_METHODS}`, 405));
}

/**
 * The manifest route (`/.plugwire/manifest`): what the plugin serves, for a host's
 * contract check and the `plugwire` command.
 * @internal
 */
export class ManifestEndpoint {
  /** The manifest's JSON without and with schemas, once built. */
  private readonly texts: [string | undefined, string | undefined] = [undefined, undefined];

  constructor(
    private readonly server: EndpointServer,
    private readonly table: ReadonlyMap<string, Route>,
    private readonly name: string | undefined,
    private readonly version: string | undefined,
  ) {}

  /** Answers a request to the manifest route: the manifest, the allowed methods (OPTIONS), or 405. */
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    answerReservedRoute(this.server, req, res, expectsContinue, 'the manifest', () => this.send(req, res));
  }

  /**
   * Answers the manifest, once the request is read. Built at the first request for it
   * (the schemas load their generator) and kept; `?schemas=false` (a host's contract
   * check) leaves the schemas out and loads nothing.
   */
  private send(req: IncomingMessage, res: ServerResponse): void {
    const schemas = !/[?&]schemas=false(&|$)/.test(req.url ?? '');
    let text: string;
    try {
      text = this.texts[schemas ? 1 : 0] ??= `${JSON.stringify(this.build(schemas))}\n`;
    } catch (error) {
      this.server.unexpected(req, res, error);
      return;
    }
    // For HEAD, Node sends the headers alone.
    res.writeHead(200, { 'Content-Type': ANSWER_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private build(schemas: boolean): Manifest {
    // Each method is named after the @Plugin() contract that declares it (an inherited
    // route after its base contract), not after the implementation.
    const sources = [...this.table.values()].map((r) => ({
      definition: r.definition,
      contract: readPlugin(r.definition.declaringClass)?.name ?? r.definition.declaringClass.name,
      implemented: r.implemented,
    }));
    const name = this.name ?? [...new Set([...this.table.values()].map((r) => r.plugin))].join(', ');
    return buildManifest(sources, { name, version: this.version ?? null }, schemas);
  }
}
