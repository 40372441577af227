import { lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nodeOs } from './lazy';

/*
 * Node's module compile cache (Node.js 22.1 and later) keeps the V8 code of the modules a
 * process compiled, so that the next process with the same files skips parsing and
 * compiling them: a plugin's cold start loads plugwire's bundle, reflect-metadata and the
 * plugin's own code from it. The cache is code that the next process runs, so it must live
 * where only this user can write. Node's default directory, `<tmp>/node-compile-cache`,
 * is one name shared by every user of the machine, made by whoever comes first, and never
 * checked: plugwire uses a directory of its own per user instead, and checks it.
 */

/** The environment variable that names the compile cache directory of a Node.js process. @internal */
export const COMPILE_CACHE_ENV = 'NODE_COMPILE_CACHE';
/** The environment variable that turns Node's compile cache off. @internal */
export const DISABLE_COMPILE_CACHE_ENV = 'NODE_DISABLE_COMPILE_CACHE';

/** Whether this Node.js has the compile cache (22.1 and later). @internal */
export function hasCompileCache(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 1);
}

/**
 * Why `dir` must not hold the cache, or `undefined` when it may: it must be a real
 * directory (not a symbolic link) of this user that nobody else can write to, in a
 * directory where nobody else can replace it (not writable by others, or sticky as /tmp).
 * @internal
 */
export function unsafeCacheDir(dir: string, uid: number): string | undefined {
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (!stat) return 'it does not exist';
  if (!stat.isDirectory()) return 'it is not a directory';
  if (stat.uid !== uid) return `it belongs to user ${stat.uid}, not ${uid}`;
  if ((stat.mode & 0o022) !== 0) return `others can write to it (mode ${(stat.mode & 0o777).toString(8)})`;
  const parent = lstatSync(dirname(dir), { throwIfNoEntry: false });
  if (!parent) return 'its parent directory is gone';
  if ((parent.mode & 0o002) !== 0 && (parent.mode & 0o1000) === 0) return 'its parent directory is writable by everyone and not sticky';
  return undefined;
}

/** The private cache directory of this user, once looked for: `null` when there is none. */
let privateDir: string | null | undefined;

/**
 * This user's compile cache directory, `<tmp>/plugwire-compile-cache-<uid>` (mode 0700),
 * made at the first call; `undefined` where there are no user ids (Windows) or the
 * directory is not safe (see {@link unsafeCacheDir}), and then nothing is cached. @internal
 */
export function privateCompileCacheDir(): string | undefined {
  if (privateDir !== undefined) return privateDir ?? undefined;
  privateDir = null;
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const dir = join(nodeOs().tmpdir(), `plugwire-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    if (unsafeCacheDir(dir, uid) === undefined) privateDir = dir;
  } catch {
    // An unreadable directory is no cache.
  }
  return privateDir ?? undefined;
}

/**
 * The compile cache directory a spawned Node.js plugin gets in `NODE_COMPILE_CACHE`, or
 * `undefined` to leave its environment as it is: on a host older than Node.js 22.1, when
 * the plugin's environment already says something about the cache (`NODE_COMPILE_CACHE` or
 * `NODE_DISABLE_COMPILE_CACHE`, even empty: the user's word wins), or when there is no safe
 * directory. A program that is not Node.js ignores the variable. @internal
 */
export function compileCacheFor(env: NodeJS.ProcessEnv): string | undefined {
  if (!hasCompileCache()) return undefined;
  if (COMPILE_CACHE_ENV in env || DISABLE_COMPILE_CACHE_ENV in env) return undefined;
  return privateCompileCacheDir();
}
