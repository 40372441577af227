// The public types as a user's project compiles them: strict, with
// "exactOptionalPropertyTypes" (which this repository's tsconfig does not set, so that
// type-checks.ts cannot try it) and without "skipLibCheck". Each case is a file of user
// code, compiled against the library's sources; only the diagnostics of the case's own
// file count.
import * as path from 'node:path';
import type * as TypeScript from 'typescript';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the specs that compile
const ts = require('typescript') as typeof TypeScript;

const DIR = __dirname;

/** The user's compiler settings: the README's, plus exactOptionalPropertyTypes. */
const OPTIONS: TypeScript.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  skipLibCheck: false,
  noEmit: true,
};

/** User code that must compile. */
const CASES: Record<string, string> = {
  'undefined-options': `
    import { connect, createProxy, serve, spawnCommand, withOptions, type CallOptions, type PluginClient, type Remote } from '../../lib';
    declare const settings: { timeout?: number | undefined; signal?: AbortSignal | undefined; text?: string | undefined; flag?: boolean | undefined };
    declare const client: PluginClient;
    class Contract { ping(): Promise<void> { return Promise.resolve(); } }
    export async function run(t: Remote<Contract>): Promise<void> {
      const starter = spawnCommand('node', ['p.js'], { name: settings.text, cwd: settings.text, env: undefined, logger: undefined });
      await connect(Contract, starter, {
        timeout: settings.timeout,
        connectTimeout: settings.timeout,
        logger: undefined,
        contractCheck: undefined,
        instances: settings.timeout,
        restart: { maxRestarts: settings.timeout, cooldown: undefined },
        liveness: { interval: settings.timeout },
        limits: { memoryMiB: settings.timeout },
      });
      await connect(Contract, starter, { restart: undefined, liveness: undefined, limits: undefined });
      withOptions(t, { timeout: settings.timeout, signal: settings.signal, headers: undefined });
      createProxy(client, Contract, { timeout: settings.timeout });
      const options: CallOptions = { timeout: settings.timeout };
      await client.call('/ping', null, options);
      await serve({}, {
        socket: settings.text, token: settings.text, tokenFile: undefined, host: undefined, announce: settings.flag,
        standalone: settings.flag, onClose: undefined, grace: settings.timeout, maxInFlight: settings.timeout,
        logger: undefined, logErrors: settings.flag, unimplemented: undefined, name: settings.text, version: settings.text,
      });
      await serve({}, { host: { socket: 'h.sock', token: settings.text } });
    }
  `,
  'custom-starter': `
    import { spawn } from 'node:child_process';
    import type { PluginExit, Starter } from '../../lib';
    export const docker: Starter = {
      name: 'docker',
      attached: undefined,
      async start(context) {
        const child = spawn('docker', ['run', '--rm', 'img'], { env: { ...process.env, PLUGIN_SOCKET: context.socket } });
        const exited = new Promise<PluginExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr: undefined })));
        const close = async (): Promise<void> => { child.kill(); await exited; };
        return { pid: child.pid, token: undefined, exited, close, term: close };
      },
    };
  `,
  'untyped-results': `
    import { Method, Plugin, stub, type Remote } from '../../lib';
    @Plugin('t')
    export class T {
      @Method('/ping') ping() { return stub(); }
      @Method('/any') loose(): any { return stub(); }
    }
    export async function use(t: Remote<T>): Promise<number> {
      const a: number = await t.ping().then(() => 1);
      const b: number = await t.loose().then(() => 2);
      return a + b;
    }
  `,
  'dto-with-methods': `
    import { Method, Plugin, stub, type Remote } from '../../lib';
    export class Greeting {
      text!: string;
      note?: string;
      shout(): string { return this.text.toUpperCase(); }
    }
    @Plugin('t')
    export class T {
      @Method('/say') say(g: Greeting): Promise<void> { return stub(g); }
      @Method('/all', { params: [[Greeting]] }) all(g: Greeting[]): Promise<void> { return stub(g); }
    }
    export async function use(t: Remote<T>, note: string | undefined): Promise<void> {
      await t.say({ text: 'hi' });
      await t.say({ text: 'hi', note: 'n' });
      await t.say(new Greeting());
      await t.all([{ text: 'hi' }, new Greeting()]);
      void note;
    }
  `,
};

/** User code that must not compile, with the error code it must give: the cases above are not vacuous. */
const REFUSED: Record<string, [code: number, source: string]> = {
  'wrong-timeout': [2322, `import { withOptions } from '../../lib'; export const f = (t: object) => withOptions(t, { timeout: '5' });`],
  'missing-field': [
    2345,
    `import { Method, Plugin, stub, type Remote } from '../../lib';
     export class G { text!: string; shout(): string { return this.text; } }
     @Plugin('t') export class T { @Method('/say') say(g: G): Promise<void> { return stub(g); } }
     export const f = (t: Remote<T>) => t.say({});`,
  ],
};

/** The file name of a case: beside this spec, so that '../../lib' is the library. */
const fileOf = (name: string): string => path.join(DIR, `user-types.${name}.ts`);

/** Compiles every case in one program, and returns each one's diagnostics as text and codes. */
function compile(sources: Record<string, string>): Map<string, { text: string; codes: number[] }> {
  const files = new Map(Object.entries(sources).map(([name, source]) => [fileOf(name), source]));
  const host = ts.createCompilerHost(OPTIONS);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const source = files.get(file);
    return source === undefined ? getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, source, language, true);
  };
  const program = ts.createProgram([...files.keys()], OPTIONS, host);
  const results = new Map<string, { text: string; codes: number[] }>();
  for (const name of Object.keys(sources)) {
    const file = program.getSourceFile(fileOf(name));
    if (!file) throw new Error(`case ${name} was not compiled`);
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    results.set(name, {
      text: diagnostics.map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n'),
      codes: diagnostics.map((d) => d.code),
    });
  }
  return results;
}

describe('the public types in a user project with exactOptionalPropertyTypes', () => {
  let results: Map<string, { text: string; codes: number[] }>;

  beforeAll(() => {
    results = compile({ ...CASES, ...Object.fromEntries(Object.entries(REFUSED).map(([name, [, source]]) => [name, source])) });
  }, 120_000);

  it.each(Object.keys(CASES))('compiles %s', (name) => {
    expect(results.get(name)?.text).toBe('');
  });

  it.each(Object.keys(REFUSED))('refuses %s', (name) => {
    expect(results.get(name)?.codes).toContain(REFUSED[name]![0]);
  });
});
