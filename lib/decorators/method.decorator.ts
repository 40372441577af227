import { DefinitionError } from '../errors/plugin-error';
import type { MethodDefinition, MethodOptions, ParamDefinition, ParamKind, Type } from '../metadata/method-definition';
import { addMethod, readParamTypes } from '../metadata/reflection-helpers';
import { MAX_TIMEOUT, RESERVED_ROUTE_PREFIX } from '../protocol/constants';

// A route is a URL path: a leading slash, then unreserved, sub-delim, ':' '@' '/' or
// percent-encoded characters. No query, no fragment, no white space.
const ROUTE = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

const BUILT_INS: ReadonlyMap<unknown, ParamKind> = new Map<unknown, ParamKind>([
  [String, 'string'],
  [Number, 'number'],
  [Boolean, 'boolean'],
  [Array, 'array'],
  [Date, 'date'],
  [Object, 'any'],
  [Function, 'any'],
  [Promise, 'any'],
  [Map, 'any'],
  [Set, 'any'],
  [Symbol, 'any'],
  [BigInt, 'any'],
]);

/**
 * Checks a route and throws a {@link DefinitionError} naming what is wrong with it.
 * @internal
 */
export function assertRoute(route: unknown, where: string): asserts route is string {
  if (typeof route !== 'string' || !ROUTE.test(route) || route.length > 1024) {
    throw new DefinitionError(
      `invalid route ${JSON.stringify(route)} on ${where}: a route is a URL path starting with '/', without spaces, '?' or '#'`,
    );
  }
  if (route.startsWith(RESERVED_ROUTE_PREFIX)) {
    throw new DefinitionError(`route '${route}' on ${where} is reserved: routes under ${RESERVED_ROUTE_PREFIX} belong to plugwire`);
  }
}

/** What a TC39 standard decorator gets as its second argument, in the fields read here. */
interface StandardDecoratorContext {
  readonly kind: string;
  readonly name?: string | symbol;
}

/**
 * Whether a decorator's second argument is the context of a TC39 standard decorator call,
 * `(value, { kind, name, ... })`. TypeScript emits such calls when "experimentalDecorators"
 * is off, and so do esbuild and tsx unless tsconfig.json turns it on. A legacy decorator
 * gets a property key there, or nothing on a class.
 * @internal
 */
export function isStandardDecoratorContext(argument: unknown): argument is StandardDecoratorContext {
  return typeof argument === 'object' && argument !== null && typeof (argument as { kind?: unknown }).kind === 'string';
}

/**
 * The error for a plugwire decorator called as a standard decorator: what runs is not what
 * plugwire reads (no prototype, no descriptor, no parameter types), so nothing would work.
 * @param decorator - the decorator as written, e.g. `@Method('/greet')`
 * @param what - the member or class, e.g. `method greet`
 * @internal
 */
export function standardDecoratorError(decorator: string, what: string): DefinitionError {
  return new DefinitionError(
    `${decorator} on ${what} was compiled as a TC39 standard decorator: plugwire's decorators are TypeScript's ` +
      `legacy (experimental) decorators. Set "experimentalDecorators": true and "emitDecoratorMetadata": true in the ` +
      `compilerOptions of tsconfig.json; esbuild and tsx read "experimentalDecorators" from tsconfig.json too.`,
  );
}

function classify(type: unknown): ParamKind {
  if (type === undefined || type === null) return 'any';
  return BUILT_INS.get(type) ?? (typeof type === 'function' ? 'class' : 'any');
}

/** What an entry of `params` or `returns` written as an array names: the class in `[Class]`, or `undefined` when it is not one. */
function arrayOf(entry: readonly unknown[]): Type | undefined {
  return entry.length === 1 && typeof entry[0] === 'function' ? (entry[0] as Type) : undefined;
}

function shownEntry(entry: unknown): string {
  if (typeof entry === 'function') return entry.name || 'an anonymous function';
  if (Array.isArray(entry)) return `[${entry.map(shownEntry).join(', ')}]`;
  return typeof entry === 'string' ? JSON.stringify(entry) : String(entry);
}

/** A parameter's definition from what `params` or the emitted design types say of it. */
function paramOf(entry: unknown, index: number, where: string, named: boolean): ParamDefinition {
  // An emitted type is a function or undefined; an entry of `params` is a class or [Class].
  if (!Array.isArray(entry) && (!named || typeof entry === 'function')) return { index, kind: classify(entry), type: typeof entry === 'function' ? (entry as Type) : undefined };
  const item = Array.isArray(entry) ? arrayOf(entry) : undefined;
  if (item === undefined) {
    throw new DefinitionError(
      `@Method() on ${where}: params[${index}] is ${shownEntry(entry)}; an entry of 'params' is a class, or [Class] for an array of them ` +
        `(params: [[Item]] for items: Item[])`,
    );
  }
  const kind = classify(item);
  // `[Object]` says no more than `Array`: there is nothing to check in its items.
  return kind === 'any' ? { index, kind: 'array', type: Array } : { index, kind: 'array', type: Array, items: { kind, type: item } };
}

/** Methods of each class that have parameters but no emitted design types, reported once per class. */
const withoutMetadata = new Map<Type, string[]>();

/**
 * Reports the methods of a class whose parameter types TypeScript did not emit. All
 * decorators of a class run before the next microtask, so one warning names them all.
 */
function reportMissingMetadata(target: Type, where: string): void {
  const methods = withoutMetadata.get(target);
  if (methods) {
    methods.push(where);
    return;
  }
  withoutMetadata.set(target, [where]);
  queueMicrotask(() => {
    const names = withoutMetadata.get(target) ?? [where];
    withoutMetadata.delete(target);
    process.emitWarning(
      `${names.join(', ')}: no parameter types were emitted, so ${names.length === 1 ? 'its parameters are' : 'their parameters are'} ` +
        `neither converted nor validated. Turn on "emitDecoratorMetadata" (and "experimentalDecorators") in tsconfig.json ` +
        `and compile with tsc (esbuild and tsx do not emit decorator metadata), or name the types in @Method({ params: [...] }).`,
      { code: 'PLUGWIRE_NO_METADATA' },
    );
  });
}

function paramsOf(target: Type, prototype: object, propertyKey: string, fn: (...args: never[]) => unknown, options: MethodOptions, where: string): ParamDefinition[] {
  const emitted = readParamTypes(prototype, propertyKey);
  if (emitted === undefined && options.params === undefined && fn.length > 0 && options.validate !== false) {
    if (options.validate === true) {
      throw new DefinitionError(
        `${where} has parameters but no emitted parameter types, and validate is true: turn on "emitDecoratorMetadata" in tsconfig.json ` +
          `and compile with tsc (esbuild and tsx do not emit decorator metadata), or name the types in @Method({ params: [...] })`,
      );
    }
    reportMissingMetadata(target, where);
  }
  // Without emitted metadata (esbuild, tsx) the declared arity still tells how the payload maps to arguments.
  const declared = options.params ?? emitted ?? new Array<undefined>(fn.length).fill(undefined);
  if (!Array.isArray(declared)) throw new DefinitionError(`@Method() on ${where}: 'params' must be an array of classes or [Class], got ${shownEntry(declared)}`);
  const params = (declared as readonly unknown[]).map((entry, index) => paramOf(entry, index, where, options.params !== undefined));
  if (options.validate === false || options.params !== undefined) return params;
  // TypeScript emits Object for interfaces and unions, and Function for a class that was
  // imported with 'import type': neither can be converted or validated.
  const untyped = params.filter((p) => p.type === Object || p.type === Function);
  if (untyped.length > 0) {
    const types = [...new Set(untyped.map((p) => p.type?.name))].join(' or ');
    const message =
      `parameter ${untyped.map((p) => p.index).join(', ')} of ${where} has the design type ${types}, not a class: an interface, ` +
      `a union, or a class imported with 'import type'. It cannot be validated. Import the class as a value, ` +
      `name the types in @Method({ params: [...] }), or set validate: false.`;
    if (options.validate === true) throw new DefinitionError(message);
    process.emitWarning(message, { code: 'PLUGWIRE_UNTYPED_PARAMETER' });
  }
  return params;
}

/**
 * Declares a contract method and the route it is called at.
 *
 * @param route - the URL path of the method, e.g. `'/modify'`, as a Go plugin would register it
 * @param options - result class, idempotency, validation and default timeout
 * @returns a method decorator
 * @throws {@link DefinitionError} for a malformed or reserved route, a route that the class
 * already has, a bad `timeout`, an entry of `params` or `returns` that is neither a class
 * nor `[Class]`, (with `validate: true`) a parameter whose type is `Object`
 * or parameters without emitted types, or when compiled without `experimentalDecorators`
 * (as a TC39 standard decorator)
 *
 * @remarks
 * The implementation class extends the contract and inherits its routes. A parameter whose
 * design type is a class is converted with class-transformer and validated with
 * class-validator, on the host before sending and in the plugin before the method runs.
 * TypeScript only emits design types when `emitDecoratorMetadata` is on (tsc, ts-jest;
 * not esbuild or tsx): name them in `params` elsewhere. It emits `Item[]` as `Array`,
 * whose items are then only an array's: name it `[Item]` in `params` to have each item
 * converted and validated.
 *
 * @example
 * ```ts
 * @Plugin('modifier')
 * export class Modifier {
 *   @Method('/modify') modify(value: string): Promise<string> { return stub(); }
 *   @Method('/describe', { returns: Description }) describe(person: Person): Promise<Description> { return stub(); }
 * }
 * ```
 */
export function Method(route: string, options: MethodOptions = {}): MethodDecorator {
  return (prototype, propertyKey, descriptor) => {
    // Called as a standard decorator, the second argument is a context object, whatever MethodDecorator says.
    const context: unknown = propertyKey;
    if (isStandardDecoratorContext(context)) {
      throw standardDecoratorError(`@Method('${String(route)}')`, `${context.kind} ${String(context.name)}`);
    }
    const target = typeof prototype === 'function' ? (prototype as Type) : (prototype as { constructor: Type }).constructor;
    const where = `${target.name}.${String(propertyKey)}`;
    if (typeof prototype === 'function') {
      throw new DefinitionError(`@Method() on static member ${where}: only instance methods can be routes`);
    }
    if (typeof propertyKey !== 'string') {
      throw new DefinitionError(`@Method() on ${where}: symbol-named methods cannot be routes`);
    }
    if (typeof descriptor.value !== 'function') {
      throw new DefinitionError(`@Method() on ${where}: only methods can be routes, not accessors or fields`);
    }
    assertRoute(route, where);
    const { timeout } = options;
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= MAX_TIMEOUT))) {
      throw new DefinitionError(`@Method() on ${where}: 'timeout' must be a number of ms from 0 to ${MAX_TIMEOUT}, got ${String(timeout)}`);
    }
    if (options.stream !== undefined && typeof options.stream !== 'boolean') {
      throw new DefinitionError(`@Method() on ${where}: 'stream' must be true or false, got ${String(options.stream)}`);
    }
    // `readonly [Item]` (`as const`) is an array too, which Array.isArray() does not narrow.
    const returnsArray = Array.isArray(options.returns);
    const returns: Type | undefined = returnsArray ? arrayOf(options.returns as readonly unknown[]) : (options.returns as Type | undefined);
    if (options.returns !== undefined && typeof returns !== 'function') {
      throw new DefinitionError(`@Method() on ${where}: 'returns' must be a class or [Class], got ${shownEntry(options.returns)}`);
    }
    const definition: MethodDefinition = {
      route,
      propertyKey,
      declaringClass: target,
      params: paramsOf(target, prototype, propertyKey, descriptor.value as (...args: never[]) => unknown, options, where),
      // Date is the one built-in a JSON answer is converted into; the others arrive as they are.
      returns: returns === Date || !BUILT_INS.has(returns) ? returns : undefined,
      returnsArray,
      idempotent: options.idempotent ?? true,
      validate: options.validate ?? true,
      validator: options.validator,
      timeout: options.timeout,
      stream: options.stream ?? false,
    };
    addMethod(target, definition);
  };
}
