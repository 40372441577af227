import { join, sep } from 'node:path';

// class-transformer keeps its decorators' metadata in its module (class-validator keeps
// its own in a global, but its containers and classes are per copy): plugwire must use
// the copy the application's decorators registered into. With a symlinked node_modules
// (pnpm, `npm link`, a worktree shared between projects) plugwire's own `require` resolves
// from plugwire's real location, which may be another copy that sees no decorators, and
// then a @Transform or @Type is silently skipped.

/** The peer packages plugwire loads as the application loaded them. @internal */
export type PeerPackage = 'class-transformer' | 'class-validator';

const roots = new Map<PeerPackage, string | null>();

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

/**
 * Where the application's copy of a peer package is: of the copies already loaded (the
 * application's decorators loaded theirs before anything is converted), the one the
 * application's entry (or working directory) resolves, else one that is not plugwire's
 * own; with none loaded, the one the application resolves; `null` for plugwire's own.
 */
function peerRoot(name: PeerPackage): string | null {
  let root = roots.get(name);
  if (root !== undefined) return root;
  const own = resolvedFrom(__filename, name);
  const loaded: string[] = [];
  for (const file of Object.keys(require.cache ?? {})) {
    const found = rootIn(file, name);
    if (found !== undefined && !loaded.includes(found)) loaded.push(found);
  }
  const application = resolvedFrom(require.main?.filename, name) ?? resolvedFrom(process.argv[1], name) ?? resolvedFrom(join(process.cwd(), 'index.js'), name);
  root = (application !== undefined && loaded.includes(application) ? application : undefined) ?? loaded.find((r) => r !== own) ?? loaded[0] ?? application ?? null;
  roots.set(name, root);
  return root;
}

/**
 * Loads a peer package, or a file in it (`cjs/storage`), from the copy the application
 * uses (see {@link peerRoot}). @internal
 */
export function requirePeer(name: PeerPackage, file?: string): unknown {
  const root = peerRoot(name);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(root === null ? (file ? `${name}/${file}` : name) : file ? join(root, file) : root);
}
