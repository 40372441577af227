// The package as it is installed: the built dist/ (npm test builds it first), loaded in
// fresh Node processes. The package's main file is one bundle of lib/ (esbuild, see the
// `bundle` script): a plugin loads one file instead of some thirty, which takes about
// 7 ms off every start. These tests keep what users rely on: CommonJS and ESM named
// exports, `plugwire/nest` and the command sharing the bundle's classes (a second copy
// of a module would mean a second PluginError class), and the package's self-reference.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/lib/index.js');
const NEST = path.join(ROOT, 'dist/lib/nest/index.js');
const CLI = path.join(ROOT, 'dist/lib/cli/plugwire.js');

/** Runs a script in a fresh Node process and parses the JSON it prints. */
function run(script: string, ...nodeArgs: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeArgs, '-e', script], { cwd: ROOT }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${error.message}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`not JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

/** The modules of dist/lib a script loaded, relative to dist/lib. */
const LOADED_LIB_FILES = `Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(path.join(ROOT, 'dist/lib/'))})).map((f) => f.slice(${path.join(ROOT, 'dist/lib/').length})).sort()`;

describe('the built package', () => {
  it('loads as one file', async () => {
    const loaded = await run(`require(${JSON.stringify(MAIN)}); console.log(JSON.stringify(${LOADED_LIB_FILES}))`);
    expect(loaded).toEqual(['index.js']);
  });

  it('gives ESM importers the same named exports as require()', async () => {
    const required = (await run(`console.log(JSON.stringify(Object.keys(require(${JSON.stringify(MAIN)})).sort()))`)) as string[];
    // Newer Node.js releases (24, not 20) add 'module.exports' next to 'default' to a CommonJS module's namespace.
    const imported = (await run(
      `import * as m from ${JSON.stringify(MAIN)}; console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort()))`,
      '--input-type=module',
    )) as string[];
    expect(required).toEqual(expect.arrayContaining(['connect', 'createProxy', 'serve', 'Plugin', 'Method', 'PluginError', 'startWithCommand']));
    expect(imported).toEqual(required);
  });

  it('resolves its own name to the bundle (package self-reference, as the samples use it)', async () => {
    const resolved = await run(`console.log(JSON.stringify(require.resolve('plugwire')))`);
    expect(resolved).toBe(MAIN);
  });

  it('shares one copy of every class and module with plugwire/nest and the command', async () => {
    // Nest is an optional peer: a process without it must still load the command.
    const loaded = (await run(`require(${JSON.stringify(NEST)}); require(${JSON.stringify(CLI)}); console.log(JSON.stringify(${LOADED_LIB_FILES}))`)) as string[];
    const outside = loaded.filter((file) => file !== 'index.js' && !file.startsWith('nest/') && !file.startsWith('cli/'));
    expect(outside).toEqual([]);
  });

  it('throws errors of the classes users import, from plugwire/nest too', async () => {
    const result = await run(
      `const { DefinitionError, PluginError } = require('plugwire');
       const { PlugwireRegistry } = require('plugwire/nest');
       let caught;
       try { new PlugwireRegistry([{ contract: class NotAContract {}, command: 'x' }]); } catch (error) { caught = error; }
       console.log(JSON.stringify({ definition: caught instanceof DefinitionError, plugin: PluginError.is(caught) && caught instanceof PluginError }));`,
    );
    expect(result).toEqual({ definition: true, plugin: true });
  });

  it('bundles only code that needs no decorator metadata (esbuild emits none)', () => {
    // lib/nest/ is not bundled: tsc compiles it, with the metadata Nest's injection reads.
    const decorated: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'nest') visit(file);
        } else if (entry.name.endsWith('.ts')) {
          const lines = readFileSync(file, 'utf8').split('\n');
          lines.forEach((line, i) => {
            if (/^\s*@[A-Za-z]+\(/.test(line)) decorated.push(`${path.relative(ROOT, file)}:${i + 1}`);
          });
        }
      }
    };
    visit(path.join(ROOT, 'lib'));
    expect(decorated).toEqual([]);
  });

  it('has declaration files that type-check in a project that checks libraries too (skipLibCheck off)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pw-dts-'));
    try {
      writeFileSync(
        path.join(dir, 'consumer.ts'),
        `import { connect, Method, Plugin, PluginError, serve, startWithCommand, stub, type Remote } from 'plugwire';
import { InjectPlugin, PlugwireHealthIndicator, PlugwireModule, PlugwireRegistry, servePlugins } from 'plugwire/nest';

@Plugin('consumer')
export class Consumer {
  @Method('/shout')
  shout(text: string): Promise<string> {
    return stub(text);
  }
}

export async function use(): Promise<string> {
  const { plugin, term } = await connect(Consumer, startWithCommand('node', ['plugin.js']));
  const remote: Remote<Consumer> = plugin;
  const text: string = await remote.shout('hi');
  await term();
  void [serve, PluginError, InjectPlugin, PlugwireHealthIndicator, PlugwireModule, PlugwireRegistry, servePlugins];
  return text;
}
`,
      );
      const dist = path.join(ROOT, 'dist/lib');
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'node16',
            moduleResolution: 'node16',
            strict: true,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules/@types')],
            paths: { plugwire: [path.join(dist, 'index.d.ts')], 'plugwire/nest': [path.join(dist, 'nest/index.d.ts')] },
          },
          files: ['consumer.ts'],
        }),
      );
      const output = await new Promise<string>((resolve) => {
        execFile(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], (error, stdout, stderr) => resolve(error ? `${stdout}${stderr}` : ''));
      });
      expect(output).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
