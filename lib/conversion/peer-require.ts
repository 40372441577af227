import { join, sep } from 'node:path';

// class-transformer keeps its decorators' metadata in its module (class-validator keeps
// its own in a global, but its containers and classes are per copy): plugwire must use
// the copy the application's decorators registered into. With a symlinked node_modules
// (pnpm, `npm link`, a worktree shared between projects) plugwire's own `require` resolves
// from plugwire's real location, which may be another copy that sees no decorators, and
// then a @Transform or @Type is silently skipped.
//
// An application bundled with plugwire and its peers in one file (esbuild's default, AWS
// CDK's NodejsFunction) has its copy inside the bundle, where no path leads: a bundler
// bundles only a require() of a literal string, so each peer is also required by its
// name below, and what that gives is used when it is a bundled copy.

/** The peer packages plugwire loads as the application loaded them. @internal */
export type PeerPackage = 'class-transformer' | 'class-validator';

/**
 * A copy of a peer package bundled with plugwire (with class-transformer's storage once
 * found), or where the application's copy is (`null` for plugwire's own).
 */
type PeerSource = { readonly bundled: unknown; storage?: unknown } | { readonly root: string | null };

const sources = new Map<PeerPackage, PeerSource>();

// Literal strings, so that a bundler bundles them (and our own build, which keeps
// packages external, leaves them as they are).
/* eslint-disable @typescript-eslint/no-require-imports */
const byName: Record<PeerPackage, () => unknown> = {
  'class-transformer': () => require('class-transformer') as unknown,
  'class-validator': () => require('class-validator') as unknown,
};

/**
 * class-transformer's metadata storage in each of its builds: a bundler picks the build of
 * the package root by its main fields (`main` by default on Node.js, `module` when asked
 * first), and the storage must be the one of the same build. The first is what Node.js
 * loads. The others are tried inside `try`, where esbuild lets a path it cannot resolve
 * (another version's layout) pass with a warning instead of failing the user's build.
 */
const transformerStorages: readonly (() => unknown)[] = [
  () => require('class-transformer/cjs/storage') as unknown,
  () => {
    try {
      return require('class-transformer/esm5/storage') as unknown;
    } catch {
      return undefined;
    }
  },
  () => {
    try {
      return require('class-transformer/esm2015/storage') as unknown;
    } catch {
      return undefined;
    }
  },
];
/* eslint-enable @typescript-eslint/no-require-imports */

function attempt(load: () => unknown): unknown {
  try {
    return load();
  } catch {
    return undefined;
  }
}

/**
 * The modules Node.js has loaded (`require.cache`), or none where there is no `require`
 * (an ES module bundle without one, where esbuild's stand-in has no cache).
 */
function cachedModules(): NodeJS.Dict<NodeModule> {
  return (typeof require === 'function' ? require.cache : undefined) ?? {};
}

/** The package directory in a module path under `node_modules/<name>/`, if it is one. */
function rootIn(file: string, name: PeerPackage): string | undefined {
  const marker = `${sep}node_modules${sep}${name}${sep}`;
  const at = file.lastIndexOf(marker);
  return at === -1 ? undefined : file.slice(0, at + marker.length - 1);
}

function resolvedFrom(base: string | undefined, name: PeerPackage): string | undefined {
  if (!base) return undefined;
  try {
    // node:module at first use: a plugin without DTOs never loads it (nor what it loads).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createRequire } = require('node:module') as typeof import('node:module');
    return rootIn(createRequire(base).resolve(name), name);
  } catch {
    return undefined;
  }
}

/** The copies of a peer package loaded so far, by their package directories. */
function loadedRoots(name: PeerPackage): string[] {
  const loaded: string[] = [];
  for (const file of Object.keys(cachedModules())) {
    const found = rootIn(file, name);
    if (found !== undefined && !loaded.includes(found)) loaded.push(found);
  }
  return loaded;
}

/**
 * Where the application's copy of a peer package is: of the copies loaded before plugwire
 * required one (the application's decorators loaded theirs before anything is converted),
 * the one the application's entry (or working directory) resolves, else one that is not
 * plugwire's own; with none loaded, the one the application resolves; `null` for
 * plugwire's own.
 */
function peerRoot(name: PeerPackage, loaded: readonly string[]): string | null {
  // No __filename in an ES module bundle.
  const own = resolvedFrom(typeof __filename === 'string' ? __filename : undefined, name);
  const main = typeof require === 'function' ? require.main?.filename : undefined;
  const application = resolvedFrom(main, name) ?? resolvedFrom(process.argv[1], name) ?? resolvedFrom(join(process.cwd(), 'index.js'), name);
  return (application !== undefined && loaded.includes(application) ? application : undefined) ?? loaded.find((r) => r !== own) ?? loaded[0] ?? application ?? null;
}

/**
 * The package as plugwire's literal require() gives it, when that is a copy bundled with
 * plugwire: its exports are then those of no module Node.js loaded.
 */
function bundledCopy(name: PeerPackage): unknown {
  const exports = attempt(byName[name]);
  if (exports === undefined || exports === null) return undefined;
  for (const module of Object.values(cachedModules())) if (module?.exports === exports) return undefined;
  return exports;
}

function peerSource(name: PeerPackage): PeerSource {
  let source = sources.get(name);
  if (source !== undefined) return source;
  // Before the literal require(), which loads plugwire's own copy when nothing is bundled
  // (once, and a second copy only where the application's is another: pnpm, npm link).
  const loaded = loadedRoots(name);
  const bundled = bundledCopy(name);
  source = bundled !== undefined ? { bundled } : { root: peerRoot(name, loaded) };
  sources.set(name, source);
  return source;
}

/** The storage module of the build of class-transformer that a bundled copy is. */
function bundledTransformerStorage(transformer: unknown): unknown {
  const candidates = transformerStorages.map(attempt).filter((module) => module !== undefined);
  const { Exclude } = transformer as Partial<typeof import('class-transformer')>;
  if (typeof Exclude === 'function') {
    // A field of a class of its own, excluded through the bundled package root, is found
    // in the storage of its build only.
    class PlugwireStorageProbe {}
    Exclude()(PlugwireStorageProbe.prototype, 'probe');
    const found = candidates.find((module) => {
      const storage = (module as { defaultMetadataStorage?: { findExcludeMetadata?: (target: unknown, key: string) => unknown } }).defaultMetadataStorage;
      return typeof storage?.findExcludeMetadata === 'function' && storage.findExcludeMetadata(PlugwireStorageProbe, 'probe') !== undefined;
    });
    if (found !== undefined) return found;
  }
  return candidates[0];
}

/**
 * Loads a peer package, or class-transformer's metadata storage (`cjs/storage`, which
 * its package root does not export), from the copy the application uses: the one bundled
 * with plugwire, else the one it loaded (see {@link peerRoot}).
 * @internal
 */
export function requirePeer(name: PeerPackage): unknown;
export function requirePeer(name: 'class-transformer', file: 'cjs/storage'): unknown;
export function requirePeer(name: PeerPackage, file?: 'cjs/storage'): unknown {
  const source = peerSource(name);
  if ('bundled' in source) {
    if (!file) return source.bundled;
    source.storage ??= bundledTransformerStorage(source.bundled);
    return source.storage;
  }
  const { root } = source;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (root !== null) return require(file ? join(root, file) : root);
  return file ? (transformerStorages[0] as () => unknown)() : byName[name]();
}
