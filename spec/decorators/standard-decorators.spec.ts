// @Method() and @Plugin() compiled without "experimentalDecorators": TypeScript 5 and 7,
// esbuild and tsx then emit TC39 standard decorators, which call a decorator with
// (value, context) instead of (prototype, key, descriptor). plugwire refuses them with a
// DefinitionError that names the decorator, the member or class, and the tsconfig options.
import { transformSync } from 'esbuild';
import type * as TypeScript from 'typescript';

import * as plugwire from '../../lib';
import { DefinitionError, Method, Plugin, PluginError, stub } from '../../lib';
import { thrownBy } from '../support/host-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the specs that compile
const ts = require('typescript') as typeof TypeScript;

/** A contract as a user writes it. */
const CONTRACT = `
import { Method, Plugin, stub } from 'plugwire';
@Plugin('greeter')
export class Greeter {
  @Method('/greet')
  greet(name: string): Promise<string> { return stub(name); }
}
`;

/** A contract class without methods: only @Plugin() runs. */
const EMPTY_CONTRACT = `
import { Plugin } from 'plugwire';
@Plugin('empty')
export class Empty {}
`;

/** Runs CommonJS code whose `require('plugwire')` gets this library, and returns the error it throws. */
function errorOfRunning(code: string): unknown {
  const module = { exports: {} };
  const load = (id: string): unknown => {
    if (id !== 'plugwire') throw new Error(`the compiled code requires ${id}`);
    return plugwire;
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the code was compiled by this spec
  const run = new Function('require', 'module', 'exports', code) as (r: typeof load, m: typeof module, e: object) => void;
  return thrownBy(() => run(load, module, module.exports));
}

/** TypeScript's output with the README's tsconfig minus the two decorator options. */
function tsc(source: string): string {
  return ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, useDefineForClassFields: false },
  }).outputText;
}

/** esbuild's output with a tsconfig that does not turn on "experimentalDecorators" (tsx compiles the same way). */
function esbuild(source: string): string {
  return transformSync(source, { loader: 'ts', format: 'cjs', target: 'es2022', tsconfigRaw: { compilerOptions: {} } }).code;
}

/** Expects the error that tells to turn on the two options. */
function expectAdvice(error: unknown, decorator: string, member: string): void {
  expect(error).toBeInstanceOf(DefinitionError);
  expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
  const { message } = error as Error;
  expect(message).toContain(decorator);
  expect(message).toContain(member);
  expect(message).toContain('"experimentalDecorators": true');
  expect(message).toContain('"emitDecoratorMetadata": true');
  expect(message).toContain('tsconfig.json');
  expect(message).toMatch(/esbuild and tsx/);
  expect(message).not.toMatch(/static|\[object Object\]/);
}

describe.each([
  ['TypeScript', tsc],
  ['esbuild', esbuild],
])('decorators compiled by %s without "experimentalDecorators"', (_compiler, compile) => {
  it('@Method() on an instance method throws PLUGWIRE_DEFINITION naming the method and the options to set', () => {
    expectAdvice(errorOfRunning(compile(CONTRACT)), "@Method('/greet')", 'greet');
  });

  it('@Plugin() on a class throws PLUGWIRE_DEFINITION naming the class and the options to set', () => {
    expectAdvice(errorOfRunning(compile(EMPTY_CONTRACT)), '@Plugin()', 'Empty');
  });
});

describe('the standard decorator call (value, context)', () => {
  const method = function greet(): Promise<string> {
    return stub();
  };
  const context = (kind: string, name: string | symbol, isStatic = false): object => ({
    kind,
    name,
    static: isStatic,
    private: typeof name === 'string' && name.startsWith('#'),
    access: {},
    metadata: undefined,
    addInitializer: () => undefined,
  });
  /** Calls a legacy decorator the way a standard decorator is called. */
  const callStandard = (decorator: unknown, value: unknown, ctx: object): unknown => thrownBy(() => (decorator as (v: unknown, c: object) => unknown)(value, ctx));

  it.each([
    ['an instance method', 'method', 'greet', false],
    ['a static method', 'method', 'create', true],
    ['a private method', 'method', '#secret', false],
    ['a getter', 'getter', 'value', false],
    ['a field', 'field', 'name', false],
    ['an accessor', 'accessor', 'count', false],
  ] as const)('@Method() on %s is refused with the advice, not as a static member', (_label, kind, name, isStatic) => {
    expectAdvice(callStandard(Method('/route'), kind === 'field' ? undefined : method, context(kind, name, isStatic)), "@Method('/route')", name);
  });

  it('@Method() on a symbol-named method names the symbol', () => {
    expectAdvice(callStandard(Method('/route'), method, context('method', Symbol('hidden'))), "@Method('/route')", 'Symbol(hidden)');
  });

  it('@Plugin() on a class is refused with the advice, named or not', () => {
    class Named {}
    expectAdvice(callStandard(Plugin('named'), Named, { kind: 'class', name: 'Named', metadata: undefined }), '@Plugin()', 'Named');
    expectAdvice(callStandard(Plugin(), Named, { kind: 'class', name: undefined, metadata: undefined }), '@Plugin()', 'Named');
  });
});
