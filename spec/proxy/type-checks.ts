// Type-level tests of Remote<T>, in the manner of comlink's tests/type-checks.ts. This file
// is never run: `tsc -p tsconfig.json --noEmit` (part of `npm run lint`) checks it, and
// every `@ts-expect-error` below fails the check if the line it guards compiles.
import { Method, Plugin, stub, withOptions, type Remote } from '../../lib';
import type { Greeting, Modifier, Person } from '../../samples/modifier/contract';

/** True when A and B are the same type (not merely assignable both ways). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

/** A contract with a non-method property, a synchronous method and a nested Promise. */
interface Extended {
  readonly version: number;
  label: string;
  count(values: string[]): number;
  nested(): Promise<Promise<boolean>>;
  maybe(flag: boolean): Promise<string> | undefined;
}

declare const modifier: Remote<Modifier>;
declare const extended: Remote<Extended>;

// Each method returns Promise<Awaited<R>>, with its parameters unchanged.
export type ModifyReturns = Assert<Equals<ReturnType<Remote<Modifier>['modify']>, Promise<string>>>;
export type ModifyParameters = Assert<Equals<Parameters<Remote<Modifier>['modify']>, [value: string]>>;
export type GreetReturns = Assert<Equals<ReturnType<Remote<Modifier>['greet']>, Promise<Greeting>>>;
export type GreetParameters = Assert<Equals<Parameters<Remote<Modifier>['greet']>, [person: Person]>>;
export type JoinParameters = Assert<Equals<Parameters<Remote<Modifier>['join']>, [values: string[], separator: string, times: number]>>;
export type SyncBecomesPromise = Assert<Equals<ReturnType<Remote<Extended>['count']>, Promise<number>>>;
export type NestedIsFlattened = Assert<Equals<ReturnType<Remote<Extended>['nested']>, Promise<boolean>>>;
export type UnionIsAwaited = Assert<Equals<ReturnType<Remote<Extended>['maybe']>, Promise<string | undefined>>>;
// Only the methods are kept.
export type OnlyMethods = Assert<Equals<keyof Remote<Extended>, 'count' | 'nested' | 'maybe'>>;
export type ModifierKeys = Assert<Equals<keyof Remote<Modifier>, 'modify' | 'greet' | 'join'>>;

export async function usage(): Promise<void> {
  const text: string = await modifier.modify('some value');
  const greeting: Greeting = await modifier.greet({ name: 'Ada', age: 36 });
  const joined: string = await modifier.join(['a'], '-', 2);
  const counted: number = await extended.count(['a', 'b']);
  const flag: boolean = await extended.nested();
  void [text, greeting, joined, counted, flag];

  // @ts-expect-error the argument must be a string
  await modifier.modify(42);
  // @ts-expect-error a missing argument
  await modifier.join(['a'], '-');
  // @ts-expect-error a DTO with a field of the wrong type
  await modifier.greet({ name: 'Ada', age: 'thirty-six' });
  // @ts-expect-error version is a property, not a method: it is not on the proxy
  void extended.version;
  // @ts-expect-error label is a property too
  void extended.label;
  // @ts-expect-error methods the contract lacks do not exist
  await modifier.remove('x'); // eslint-disable-line @typescript-eslint/no-unsafe-call
  // @ts-expect-error the result is a string, not a number
  const wrong: number = await modifier.modify('x');
  // @ts-expect-error the method returns a Promise, not the bare value
  const unawaited: string = modifier.modify('x');
  // @ts-expect-error the synchronous method becomes asynchronous
  const sync: number = extended.count([]);
  void [wrong, unawaited, sync];
}

// withOptions() keeps the proxy's type, and its options are typed.
export type WithOptionsKeepsType = Assert<Equals<ReturnType<typeof withOptions<Remote<Modifier>>>, Remote<Modifier>>>;

export async function withOptionsUsage(signal: AbortSignal): Promise<void> {
  const quick = withOptions(modifier, { timeout: 500, signal, headers: { 'x-trace-id': 'abc' } });
  const text: string = await quick.modify('x');
  void text;
  // @ts-expect-error the argument must still be a string
  await quick.modify(42);
  // @ts-expect-error timeout is a number of ms
  withOptions(modifier, { timeout: '500' });
  // @ts-expect-error header values are strings
  withOptions(modifier, { headers: { 'x-count': 1 } });
  // @ts-expect-error unknown options are refused
  withOptions(modifier, { retries: 3 });
}

// A contract method whose result is typed never (stub() with no return type written) or
// any returns a Promise of it, not a stream: only a declared AsyncIterable makes a stream.
@Plugin('untyped')
export class Untyped {
  @Method('/ping')
  ping() {
    return stub();
  }

  @Method('/loose')
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  loose(): any {
    return stub();
  }

  @Method('/loose-async')
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  looseAsync(): Promise<any> {
    return stub();
  }
}

declare const untyped: Remote<Untyped>;

export type NeverIsAPromise = Assert<Equals<ReturnType<Remote<Untyped>['ping']>, Promise<never>>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyIsAPromise = Assert<Equals<ReturnType<Remote<Untyped>['loose']>, Promise<any>>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PromiseOfAnyIsAPromise = Assert<Equals<ReturnType<Remote<Untyped>['looseAsync']>, Promise<any>>>;

export async function untypedUsage(): Promise<void> {
  const one: number = await untyped.ping().then(() => 1);
  const two: number = await untyped.loose().then(() => 2);
  void [one, two];
  // @ts-expect-error a method typed never is not a stream
  for await (const item of untyped.ping()) void item; // eslint-disable-line @typescript-eslint/await-thenable
}

/** A DTO with a method and a getter, an optional field, and a nested DTO and a Date. */
class Shouted {
  text!: string;
  times?: number;
  at!: Date;
  shout(): string {
    return this.text.toUpperCase();
  }
  get loud(): boolean {
    return this.text.length > 0;
  }
}

/** A contract that takes DTOs with methods, one, several, optional, and built-ins. */
interface Shouting {
  say(greeting: Greeting): Promise<void>;
  sayAll(greetings: Greeting[], note: string): Promise<number>;
  sayMaybe(greeting?: Shouted): Promise<void>;
  readOnly(greetings: readonly Greeting[]): Promise<void>;
  when(at: Date, tags: Set<string>, names: string[], pair: [string, number]): Promise<void>;
}

declare const shouting: Remote<Shouting>;

// A DTO with methods takes an instance or an object of its data; the rest is unchanged.
export type SayParameters = Assert<Equals<Parameters<Remote<Shouting>['say']>, [greeting: Greeting | { text: string; length: number }]>>;
export type SayAllParameters = Assert<Equals<Parameters<Remote<Shouting>['sayAll']>, [greetings: (Greeting | { text: string; length: number })[], note: string]>>;
export type ReadOnlyParameters = Assert<Equals<Parameters<Remote<Shouting>['readOnly']>, [greetings: readonly (Greeting | { text: string; length: number })[]]>>;
export type BuiltInParameters = Assert<Equals<Parameters<Remote<Shouting>['when']>, [at: Date, tags: Set<string>, names: string[], pair: [string, number]]>>;

export async function dtoUsage(greeting: Greeting, shouted: Shouted): Promise<void> {
  await shouting.say({ text: 'hi', length: 2 });
  await shouting.say(greeting);
  await shouting.sayAll([{ text: 'hi', length: 2 }, greeting], 'note');
  await shouting.readOnly([{ text: 'hi', length: 2 }]);
  await shouting.sayMaybe();
  await shouting.sayMaybe(shouted);
  await shouting.sayMaybe({ text: 'hi', at: new Date(), loud: true });
  await shouting.when(new Date(), new Set(['a']), ['b'], ['c', 1]);
  // @ts-expect-error a required data field is missing
  await shouting.say({ text: 'hi' });
  // @ts-expect-error a data field of the wrong type
  await shouting.say({ text: 'hi', length: '2' });
  // @ts-expect-error an unknown field in an object literal
  await shouting.say({ text: 'hi', length: 2, extra: true });
  // @ts-expect-error not an object
  await shouting.say('hi');
  // @ts-expect-error an item with a missing field
  await shouting.sayAll([{ text: 'hi' }], 'note');
  // @ts-expect-error one DTO where an array is declared
  await shouting.sayAll({ text: 'hi', length: 2 }, 'note');
  // @ts-expect-error a getter counts as data, as TypeScript cannot tell it from a field
  await shouting.sayMaybe({ text: 'hi', at: new Date() });
  // @ts-expect-error a Date is not taken as an object of its data
  await shouting.when({}, new Set(['a']), ['b'], ['c', 1]);
  // @ts-expect-error a Set neither
  await shouting.when(new Date(), {}, ['b'], ['c', 1]);
  // @ts-expect-error nor an array of strings
  await shouting.when(new Date(), new Set(['a']), [1], ['c', 1]);
}

// Option fields set to undefined under a user's exactOptionalPropertyTypes, which this
// repository's tsconfig does not set, are checked in spec/proxy/user-types.spec.ts.
