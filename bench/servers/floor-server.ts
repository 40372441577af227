// The floor's server (bench/contenders/floor.ts): a bare node:http server on a Unix
// socket, written as tightly as a hand-written plugin could be, reading the same body as
// plugwire's ({"Context":{...},"Payload":...}) and answering the same JSON. No validation,
// no deadline, no token: nothing a plugin needs beyond the call itself.
//
//   node dist/bench/servers/floor-server.js <socket>
//
// Prints `ready` once it listens; exits (status 0) on SIGTERM and when its standard input
// closes (the host is gone).
import { createServer } from 'node:http';

const socket = process.argv[2];
if (!socket) {
  console.error('usage: floor-server <socket>');
  process.exit(2);
}

const HEADERS = { 'content-type': 'application/json' };

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let text: string;
    try {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const { Payload } = JSON.parse(body.toString('utf8')) as { Payload: unknown };
      // /order answers the order's id; /echo, the payload.
      text = `${JSON.stringify(req.url === '/order' ? (Payload as { id: string }).id : Payload)}\n`;
    } catch (error) {
      res.writeHead(400, HEADERS).end(`${JSON.stringify((error as Error).message)}\n`);
      return;
    }
    res.writeHead(200, { ...HEADERS, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 0; // as plugwire's: the host closes idle connections
server.listen(socket, () => process.stdout.write('ready\n'));
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
