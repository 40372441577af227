// serve()'s numeric options are checked before anything listens: a value out of range is
// a DefinitionError naming the option and what it got, rather than a server that never
// limits (NaN), refuses every call (maxInFlight 0) or fails later with Node's own words.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DefinitionError, Method, Plugin, serve, stub, type ServeOptions } from '../../lib';
import { removeDir, tempDir } from '../support/host-helpers';

@Plugin('options')
class Options {
  @Method('/ping')
  ping(): Promise<string> {
    return stub();
  }
}

class OptionsImpl extends Options {
  override async ping(): Promise<string> {
    return 'pong';
  }
}

let dir: string;
let count = 0;

beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

function serveWith(options: Record<string, unknown>): { socket: string; served: Promise<{ close(): Promise<void>; inflight: number }> } {
  const socket = path.join(dir, `s${++count}.sock`);
  return { socket, served: serve(new OptionsImpl(), { socket, announce: false, standalone: false, ...(options as ServeOptions) }) };
}

describe('serve() options', () => {
  it.each<[string, unknown, RegExp]>([
    ['maxInFlight', 0, /serve\(\): maxInFlight must be a whole number from 1 to \d+, got the number 0/],
    ['maxInFlight', 1.5, /maxInFlight must be a whole number.*got the number 1\.5/],
    ['maxInFlight', Number.NaN, /maxInFlight must be a whole number.*got the number NaN/],
    ['maxConnections', -1, /maxConnections must be a whole number from 1/],
    ['maxBodySize', '16 MiB', /maxBodySize must be a whole number of bytes from 1 to .*got the string "16 MiB"/],
    ['maxCollectedSize', null, /maxCollectedSize must be a whole number of bytes.*got null/],
    ['grace', -5, /grace must be a number of ms from 0/],
    ['headersTimeout', 0, /headersTimeout must be a number of ms from 1/],
    ['requestTimeout', Infinity, /requestTimeout must be a number of ms.*got the number Infinity/],
    ['keepAliveTimeout', {}, /keepAliveTimeout must be a number of ms.*got an object/],
  ])('refuses %s: %p with a DefinitionError naming it, and listens on nothing', async (name, value, message) => {
    const { socket, served } = serveWith({ [name]: value });
    const error = await served.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(message);
    expect(existsSync(socket)).toBe(false);
  });

  it('refuses a headersTimeout longer than the requestTimeout that bounds the whole request', async () => {
    await expect(serveWith({ headersTimeout: 40_000 }).served).rejects.toThrow(/headersTimeout \(40000 ms\) must not be longer than requestTimeout \(30000 ms\)/);
    const server = await serveWith({ headersTimeout: 40_000, requestTimeout: 0 }).served;
    await server.close();
  });

  it('takes an option given as undefined as its default, and a string of digits as its number', async () => {
    const server = await serveWith({ maxInFlight: undefined, grace: '100', maxBodySize: '1024' }).served;
    try {
      expect(server.inflight).toBe(0);
    } finally {
      await server.close();
    }
  });
});
