// Node's module compile cache for plugins that spawnCommand() starts (Node.js 22.1 and
// later): real plugin processes, their environment read from /proc, the cache directory
// checked as Node would trust it. On Node.js 20 the plugin's environment is left alone.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnCommand, startPlugin, type StartResult } from '../../lib';
import { authorized } from '../../lib/server/token';
import { compileCacheFor, hasCompileCache, privateCompileCacheDir, unsafeCacheDir } from '../../lib/util/compile-cache';
import { removeDir, tempDir } from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
const cached = hasCompileCache();
const uid = process.getuid?.() ?? -1;

/** The environment a process was started with. */
function environ(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

let dir: string;
const started: StartResult[] = [];

beforeAll(() => {
  dir = tempDir();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});
afterAll(() => removeDir(dir));

async function startSample(env?: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const result = await startPlugin(spawnCommand(process.execPath, [SAMPLE], { logger: false, ...(env && { env }) }));
  started.push(result);
  return environ(result.client.pid as number);
}

describe('hasCompileCache()', () => {
  it.each([
    ['20.18.1', false],
    ['22.0.0', false],
    ['22.1.0', true],
    ['23.0.0', true],
    ['24.21.0', true],
  ])('Node.js %s: %s', (version, expected) => {
    expect(hasCompileCache(version)).toBe(expected);
  });
});

describe('a plugin spawned by spawnCommand()', () => {
  (cached ? it : it.skip)('gets NODE_COMPILE_CACHE, a directory of this user that only it can write to, and writes its cache there on close', async () => {
    const env = await startSample();
    const cache = env['NODE_COMPILE_CACHE'];
    expect(cache).toBe(privateCompileCacheDir());
    expect(path.basename(cache as string)).toBe(`plugwire-compile-cache-${uid}`);
    const stat = statSync(cache as string);
    expect(stat.uid).toBe(uid);
    expect(stat.mode & 0o077).toBe(0);
    await started.pop()?.close();
    // Node keeps one subdirectory per version and platform (`v24.21.0-x64-...`).
    expect(readdirSync(cache as string).some((name) => name.startsWith(`v${process.versions.node}-`))).toBe(true);
  });

  (cached ? it.skip : it)('gets nothing about the compile cache on Node.js older than 22.1', async () => {
    const env = await startSample();
    expect(env['NODE_COMPILE_CACHE']).toBeUndefined();
    expect(compileCacheFor({})).toBeUndefined();
  });

  it("keeps the user's NODE_DISABLE_COMPILE_CACHE, and sets no cache directory", async () => {
    const env = await startSample({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(env['NODE_DISABLE_COMPILE_CACHE']).toBe('1');
    expect(env['NODE_COMPILE_CACHE']).toBeUndefined();
  });

  it("keeps the user's own NODE_COMPILE_CACHE directory", async () => {
    const own = path.join(dir, 'own-cache');
    const env = await startSample({ NODE_COMPILE_CACHE: own });
    expect(env['NODE_COMPILE_CACHE']).toBe(own);
    await started.pop()?.close();
    if (cached) expect(existsSync(own)).toBe(true);
  });
});

describe('compileCacheFor()', () => {
  it('leaves an environment that names the cache, or turns it off, as it is (even with an empty value)', () => {
    expect(compileCacheFor({ NODE_COMPILE_CACHE: '/somewhere' })).toBeUndefined();
    expect(compileCacheFor({ NODE_COMPILE_CACHE: '' })).toBeUndefined();
    expect(compileCacheFor({ NODE_DISABLE_COMPILE_CACHE: '1' })).toBeUndefined();
    expect(compileCacheFor({ NODE_DISABLE_COMPILE_CACHE: '' })).toBeUndefined();
  });

  (cached ? it : it.skip)('names the private directory otherwise', () => {
    expect(compileCacheFor({ PATH: '/usr/bin' })).toBe(privateCompileCacheDir());
  });
});

describe('unsafeCacheDir()', () => {
  const make = (name: string, mode: number): string => {
    const at = path.join(dir, name);
    mkdirSync(at);
    chmodSync(at, mode);
    return at;
  };

  it('accepts a directory of this user that only it can write to', () => {
    expect(unsafeCacheDir(make('private', 0o700), uid)).toBeUndefined();
    expect(unsafeCacheDir(make('readable', 0o755), uid)).toBeUndefined();
  });

  it('refuses a directory others can write to', () => {
    expect(unsafeCacheDir(make('shared', 0o777), uid)).toMatch(/others can write to it \(mode 777\)/);
    expect(unsafeCacheDir(make('group', 0o770), uid)).toMatch(/others can write to it/);
  });

  it("refuses another user's directory, a symbolic link, a file and nothing", () => {
    expect(unsafeCacheDir(make('theirs', 0o700), uid + 1)).toMatch(/belongs to user/);
    const link = path.join(dir, 'link');
    symlinkSync(make('target', 0o700), link);
    expect(unsafeCacheDir(link, uid)).toBe('it is not a directory');
    const file = path.join(dir, 'file');
    writeFileSync(file, '');
    expect(unsafeCacheDir(file, uid)).toBe('it is not a directory');
    expect(unsafeCacheDir(path.join(dir, 'missing'), uid)).toBe('it does not exist');
  });

  it('refuses a directory inside one that everyone can write to without the sticky bit', () => {
    const open = make('open', 0o777);
    const inside = path.join(open, 'cache');
    mkdirSync(inside, { mode: 0o700 });
    expect(unsafeCacheDir(inside, uid)).toMatch(/writable by everyone and not sticky/);
    chmodSync(open, 0o1777);
    expect(unsafeCacheDir(inside, uid)).toBeUndefined();
  });
});

describe('the token check without node:crypto', () => {
  const token = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG');

  it('accepts the token and refuses any other of the same or another length', () => {
    expect(authorized(token, `Bearer ${token.toString()}`)).toBe(true);
    expect(authorized(token, `bearer   ${token.toString()}`)).toBe(true);
    for (let i = 0; i < token.length; i++) {
      const other = Buffer.from(token);
      other[i] = (other[i] as number) ^ 1;
      expect(authorized(token, `Bearer ${other.toString()}`)).toBe(false);
    }
    expect(authorized(token, `Bearer ${token.toString().slice(1)}`)).toBe(false);
    expect(authorized(token, `Bearer ${token.toString()}x`)).toBe(false);
    expect(authorized(undefined, undefined)).toBe(true);
  });
});
