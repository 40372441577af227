import { basename, dirname, resolve as resolvePath } from 'node:path';

// Names that do not tell one plugin from another: look at the folders above instead.
const GENERIC_NAMES = new Set(['plugin', 'plugins', 'index', 'main', 'server', 'app', 'dist', 'build', 'out', 'lib', 'src', 'bin']);

/**
 * The name of a plugin started as `command args`, when none was given: the base name of
 * the script (for `node`) or command without `.js`, or for a name that says nothing
 * (`plugin`, `index`, `main`) the nearest folder whose name does.
 *
 * @param command - the executable
 * @param args - its arguments
 * @param cwd - its working directory, against which a relative script path is resolved
 * @returns the name, e.g. `modifier` for `node dist/samples/modifier/plugin.js`
 * @internal
 */
export function defaultName(command: string, args: readonly string[], cwd: string | undefined): string {
  const node = /^node(js)?$|\/node$/.test(command);
  // node -e '...': the code is no name.
  if (node && /^(-e|-p|--eval|--print)$/.test(args[0] ?? '')) return 'node';
  const script = node ? args.find((a) => !a.startsWith('-')) : undefined;
  const file = script ?? command;
  const name = basename(file).replace(/\.[cm]?js$/, '');
  if (!GENERIC_NAMES.has(name.toLowerCase())) return name;
  let dir = dirname(resolvePath(cwd ?? process.cwd(), file));
  for (let depth = 0; depth < 4 && dir !== dirname(dir); depth++, dir = dirname(dir)) {
    if (!GENERIC_NAMES.has(basename(dir).toLowerCase())) return basename(dir);
  }
  return name;
}
