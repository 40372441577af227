/**
 * Import rules for lib/, checked by `npm run lint`:
 * - no import cycles between modules or between the folders of lib/, type-only imports included: a cycle means two modules that are one idea
 *   or a layer that reaches back up;
 * - `plugwire/nest` and the `plugwire` command take every value from the package entry
 *   (lib/index.ts). They ship as separate files beside the one-file bundle of lib/, so a value
 *   imported from anywhere else would load a second copy of that module (its classes, its state).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle means two modules that are one idea, or a lower layer that imports a higher one.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'The folders of lib/ are layers: util, protocol and errors at the bottom, host at the top.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'entry-only-from-nest-and-cli',
      severity: 'error',
      comment: 'plugwire/nest and the command ship beside the bundle: values come from lib/index.ts only.',
      from: { path: '^lib/(nest|cli)/' },
      to: {
        path: '^lib/',
        pathNot: ['^lib/index\\.ts$', '^lib/$1/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      // The command reads the package's own package.json, which exists only once installed.
      to: { couldNotResolve: true, pathNot: 'package\\.json$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
