/**
 * A standalone plugin's graceful shutdown under attack (issue 12): large answers being
 * written when SIGTERM comes, signals after the first, and a socket path that another
 * plugin took over. Real processes, curl and raw sockets as the clients.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';

import { connectOutcome, waitFor, within } from '../support/host-helpers';
import { attackDir, cleanUp, envelope, exchange, post, rawConnection, startAttackPlugin } from '../support/attack-process';
import * as path from 'node:path';

const CURL = '/usr/bin/curl';
/** `/big`'s body: a JSON string of 1 MiB of `x`, quoted, with its newline. */
const BIG_BODY = `"${'x'.repeat(1024 * 1024)}"\n`;

afterEach(cleanUp);

/** Waits until the plugin refuses new connections: it has begun to close. */
function refusing(socket: string): Promise<void> {
  return waitFor(async () => (await connectOutcome(socket)) !== 'accepted', 10_000, `${socket} to refuse connections`);
}

describe('a graceful shutdown while a large answer is being written', () => {
  it('lets a paused reader read every byte of a 1 MB answer after SIGTERM, then exits 0', async () => {
    const plugin = await startAttackPlugin();
    const connection = await rawConnection(plugin.socket, post('/big', envelope(null)));
    await connection.waitFor('HTTP/1.1 200 ');
    // The reader stops reading: most of the answer still waits in the plugin.
    connection.socket.pause();
    plugin.child.kill('SIGTERM');
    await refusing(plugin.socket);
    connection.socket.resume();
    await connection.waitFor(BIG_BODY.slice(-100));
    const text = connection.received().toString('latin1');
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toBe(BIG_BODY);
    expect(await within(plugin.exit, 15_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(plugin.stderr).toContain('shutdown hook ran');
  });

  it('gives curl, reading slowly, the whole answer when SIGTERM comes mid-transfer', async () => {
    const plugin = await startAttackPlugin();
    const curl = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        CURL,
        ['-sS', '--unix-socket', plugin.socket, '--limit-rate', '512k', '-H', 'Content-Type: application/json', '--data-binary', envelope(null), 'http://plugin/big'],
        { maxBuffer: 4 * 1024 * 1024, encoding: 'latin1' },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    await plugin.line('stderr', 'big call started');
    plugin.child.kill('SIGTERM');
    const result = await within(curl, 20_000, 'curl');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(BIG_BODY.length);
    expect(await within(plugin.exit, 15_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(existsSync(plugin.socket)).toBe(false);
  });
});

describe('signals after the first', () => {
  it('are part of the same graceful shutdown: SIGINT, SIGTERM, SIGINT still answer the call in flight and run the hook', async () => {
    const plugin = await startAttackPlugin();
    const connection = await rawConnection(plugin.socket, post('/slow', envelope('ctrl-c')));
    await plugin.line('stderr', 'slow call started: ctrl-c');
    plugin.child.kill('SIGINT');
    await refusing(plugin.socket);
    // Ctrl-C on the host, then the host stops its plugin, then an impatient user.
    plugin.child.kill('SIGTERM');
    plugin.child.kill('SIGINT');
    plugin.child.stdin?.end('release\n');
    await connection.waitFor('"done:ctrl-c"\n');
    expect(connection.received().toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(await within(plugin.exit, 15_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(plugin.stderr).toContain('shutdown hook ran');
    expect(existsSync(plugin.socket)).toBe(false);
  });

  it('during a slow shutdown hook do not kill the plugin before the hook is done', async () => {
    const plugin = await startAttackPlugin({ env: { ATTACK_HOLD_SHUTDOWN: '1' } });
    plugin.child.kill('SIGTERM');
    await plugin.line('stderr', 'shutdown hook started');
    plugin.child.kill('SIGTERM');
    plugin.child.kill('SIGINT');
    plugin.child.stdin?.end('release\n');
    expect(await within(plugin.exit, 15_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(plugin.stderr).toContain('shutdown hook ran');
  });
});

describe('a socket path that another plugin took over', () => {
  it('is left to that plugin when the first one shuts down', async () => {
    const socket = path.join(attackDir(), 'shared.sock');
    const first = await startAttackPlugin({ socket });
    // The path is taken over: the first plugin's file removed (a host that took it for
    // dead), a second plugin listening there now.
    unlinkSync(socket);
    const second = await startAttackPlugin({ socket });
    const secondIno = lstatSync(socket).ino;

    first.child.kill('SIGTERM');
    expect(await within(first.exit, 15_000, 'the first exit')).toEqual({ code: 0, signal: null });

    expect(lstatSync(socket).ino).toBe(secondIno);
    expect(await exchange(socket, post('/ping', envelope(null)))).toMatch(/^HTTP\/1\.1 200 [^]*"pong"\n$/);

    // Its own file the second one removes as before.
    second.child.kill('SIGTERM');
    expect(await within(second.exit, 15_000, 'the second exit')).toEqual({ code: 0, signal: null });
    expect(existsSync(socket)).toBe(false);
  });
});
