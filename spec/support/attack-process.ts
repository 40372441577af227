/**
 * Helpers for spec/server/attack-*.spec.ts: the fixture plugin
 * spec/fixtures/server/attack-plugin.ts as a real process (started with PLUGIN_SOCKET as a
 * host would, so `npm run build` first), and raw Unix-socket clients that write exact bytes
 * and read exact bytes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnPluginProcess, type PluginProcess } from './plugin-process';

const FIXTURE = path.join(__dirname, '../../dist/spec/fixtures/server/attack-plugin.js');
export const READY = 'plugin is ready';

export type { Exit } from './plugin-process';

export interface AttackPlugin extends PluginProcess {
  readonly socket: string;
}

const started: AttackPlugin[] = [];
const dirs: string[] = [];

/** A fresh private directory, removed by {@link cleanUp}. */
export function attackDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pw-attack-'));
  dirs.push(dir);
  return dir;
}

/** Starts the fixture on `socket` (default: a fresh one) and waits for its ready line. */
export async function startAttackPlugin(options: { token?: string; socket?: string; env?: NodeJS.ProcessEnv } = {}): Promise<AttackPlugin> {
  const socket = options.socket ?? path.join(attackDir(), 'p.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, PLUGIN_SOCKET: socket };
  delete env['PLUGWIRE_LIFELINE_FD'];
  delete env['PLUGWIRE_SOCKET_DIR'];
  delete env['PLUGWIRE_TOKEN'];
  if (options.token !== undefined) env['PLUGWIRE_TOKEN'] = options.token;
  const plugin: AttackPlugin = { ...spawnPluginProcess(FIXTURE, env), socket };
  started.push(plugin);
  await plugin.line('stdout', READY);
  return plugin;
}

/** Kills what is still running and removes the directories. */
export async function cleanUp(): Promise<void> {
  for (const plugin of started.splice(0)) {
    if (plugin.child.exitCode === null && plugin.child.signalCode === null) plugin.child.kill('SIGKILL');
    await plugin.exit;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export { envelope } from './plugin-process';

/** A whole `POST` request with a body, as bytes for a raw socket. */
export function post(route: string, body: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `POST ${route} HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** An open raw connection: what arrived so far, and when the server closed it. */
export interface RawConnection {
  readonly socket: Socket;
  /** Every byte received so far. */
  received(): Buffer;
  /** Resolves with every byte received once the server ended or closed the connection. */
  readonly closed: Promise<Buffer>;
  /** Resolves once the bytes received contain `text`; fails on close without it or after `ms`. */
  waitFor(text: string, ms?: number): Promise<void>;
}

/** Opens a raw connection to a Unix socket and writes `bytes` (if any) once connected. */
export function rawConnection(socketPath: string, bytes?: string | Buffer): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const received = (): Buffer => Buffer.concat(chunks);
    const closed = new Promise<Buffer>((done) => {
      socket.on('close', () => done(received()));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer: the bytes are what count
    const waitFor = (text: string, ms = 10_000): Promise<void> =>
      new Promise((ok, fail) => {
        const check = (): boolean => {
          if (!received().includes(text)) return false;
          clearTimeout(timer);
          socket.off('data', check);
          socket.off('close', onClose);
          ok();
          return true;
        };
        const onClose = (): void => {
          if (check()) return;
          clearTimeout(timer);
          socket.off('data', check);
          fail(new Error(`connection closed without ${JSON.stringify(text)}; got ${JSON.stringify(received().toString('latin1').slice(0, 2000))}`));
        };
        const timer = setTimeout(() => {
          socket.off('data', check);
          socket.off('close', onClose);
          fail(new Error(`no ${JSON.stringify(text)} within ${ms} ms; got ${JSON.stringify(received().toString('latin1').slice(0, 2000))}`));
        }, ms);
        if (check()) return;
        socket.on('data', check);
        socket.once('close', onClose);
      });
    socket.once('connect', () => {
      socket.off('error', reject);
      if (bytes !== undefined) socket.write(bytes);
      resolve({ socket, received, closed, waitFor });
    });
    socket.once('error', reject);
  });
}

/** Writes `bytes` on a fresh connection, half-closes it, and resolves with everything the server sent before closing. */
export async function exchange(socketPath: string, bytes: string | Buffer, options: { end?: boolean } = {}): Promise<string> {
  const connection = await rawConnection(socketPath, bytes);
  if (options.end ?? true) connection.socket.end();
  return (await connection.closed).toString('latin1');
}
