// Type-level tests of Remote<T>, in the manner of comlink's tests/type-checks.ts. This file
// is never run: `tsc -p tsconfig.json --noEmit` (part of `npm run lint`) checks it, and
// every `@ts-expect-error` below fails the check if the line it guards compiles.
import { withOptions, type Remote } from '../../lib';
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
