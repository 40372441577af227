// The floor's server (bench/contenders/floor.ts): a bare node:http server on a Unix
// socket, written as tightly as a hand-written plugin could be, reading the same body as
// plugwire's ({"Context":{...},"Payload":...}) and answering the same JSON. No validation,
// no deadline, no token: nothing a plugin needs beyond the call itself.
//
// /items (the stream scenario) answers its payload's count of items as NDJSON, one
// res.write() per item on a chunked answer, waiting for 'drain' whenever res.write()
// says the socket's buffer is full; /items-joined, the same with the lines joined into
// one res.write() per 16 KB (--stream-floor joined: fewer chunks, fewer writev entries).
//
//   node dist/bench/servers/floor-server.js <socket>
//
// Prints `ready` once it listens; exits (status 0) on SIGTERM and when its standard input
// closes (the host is gone).
import { createServer, type ServerResponse } from 'node:http';
import { streamItem } from '../workloads';

const socket = process.argv[2];
if (!socket) {
  console.error('usage: floor-server <socket>');
  process.exit(2);
}

const HEADERS = { 'content-type': 'application/json' };
const NDJSON = { 'content-type': 'application/x-ndjson; charset=utf-8' };

/** Lines joined into one res.write() at most by /items-joined (UTF-16 code units: bytes, for this JSON). */
const JOINED = 16 * 1024;

/**
 * Writes items 0 to `count` − 1, one line each, as fast as the socket takes them: one
 * res.write() per line, or (`joined`) per 16 KB of lines.
 */
function writeItems(res: ServerResponse, count: number, joined: boolean): void {
  res.writeHead(200, NDJSON);
  let seq = 0;
  const more = (): void => {
    while (seq < count) {
      let text = `${JSON.stringify(streamItem(seq++))}\n`;
      if (joined) while (seq < count && text.length < JOINED) text += `${JSON.stringify(streamItem(seq++))}\n`;
      if (!res.write(text)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let text: string;
    try {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const { Payload } = JSON.parse(body.toString('utf8')) as { Payload: unknown };
      if (req.url === '/items' || req.url === '/items-joined') {
        writeItems(res, Payload as number, req.url === '/items-joined');
        return;
      }
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
