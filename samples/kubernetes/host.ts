// The host container's entry point: attaches to the plugin that runs in the sidecar container
// (it starts nothing and restarts nothing: the container runtime does) and serves a small
// HTTP API that calls it.
//   GET /modify?value=x  -> 200 "x decorated", or the plugin error's status with its code
//   GET /healthz         -> 200 while this process serves (its own liveness and readiness)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachToSocket, connect, PluginError, type Remote } from 'plugwire';
import { Modifier } from '../modifier/contract';
import { podSettings } from './paths';

async function main(): Promise<void> {
  const { socket, tokenFile, port } = podSettings();
  // wait: the start waits for the plugin's socket (up to startTimeout, 10 s by default), as
  // the sidecar may come up after this container; and when the plugin's container restarts,
  // calls wait for its new socket instead of failing at once. The token is read from the
  // mounted Secret at each of these starts.
  const modifier = await connect(Modifier, attachToSocket({ name: 'modifier', tokenFile, wait: true }), { socket });
  const server = createServer((request, response) => {
    handle(modifier.plugin, request, response).catch((error: unknown) => {
      console.error(error);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.listen(port, () => console.log(`host listening on port ${(server.address() as AddressInfo).port}`));

  // The pod stopping: finish the requests in flight, then let go of the plugin (attached,
  // it keeps running until its own container is stopped).
  const stop = (): void => {
    server.close(() => void modifier.close());
    server.closeIdleConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function handle(plugin: Remote<Modifier>, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://host');
  if (request.method !== 'GET') {
    response.writeHead(405, { allow: 'GET' }).end();
  } else if (url.pathname === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  } else if (url.pathname === '/modify') {
    try {
      const answer = await plugin.modify(url.searchParams.get('value') ?? '');
      response.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
    } catch (error) {
      if (!PluginError.is(error)) throw error;
      response.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: error.code, message: error.message }));
    }
  } else {
    response.writeHead(404).end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
