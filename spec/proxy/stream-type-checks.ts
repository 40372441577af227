// Type-level tests of Remote<T> for stream methods, beside type-checks.ts. Never run:
// `tsc -p tsconfig.json --noEmit` checks it, and every `@ts-expect-error` below fails the
// check if the line it guards compiles.
import type { Remote } from '../../lib';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

interface LogLine {
  text: string;
}

/** A contract with stream methods (as declared, and as an `async *` implementation types them) and a unary one. */
interface Logs {
  tail(level: string): AsyncIterable<LogLine>;
  numbers(from: number, to: number): AsyncGenerator<number, void, unknown>;
  count(): Promise<number>;
  lines(): Promise<LogLine[]>;
  anything(): AsyncIterable<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  untyped(): never;
  loose(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  follow(from: Cursor, also: Cursor[]): AsyncIterable<LogLine>;
}

/** A DTO with a method, as a stream method's parameter. */
declare class Cursor {
  position: number;
  next(): Cursor;
}

declare const logs: Remote<Logs>;

// A stream method returns an AsyncIterable of its items, with its parameters unchanged.
export type TailReturns = Assert<Equals<ReturnType<Remote<Logs>['tail']>, AsyncIterable<LogLine>>>;
export type TailParameters = Assert<Equals<Parameters<Remote<Logs>['tail']>, [level: string]>>;
export type GeneratorReturns = Assert<Equals<ReturnType<Remote<Logs>['numbers']>, AsyncIterable<number>>>;
// Unary methods are unchanged, an array result included.
export type CountReturns = Assert<Equals<ReturnType<Remote<Logs>['count']>, Promise<number>>>;
export type LinesReturns = Assert<Equals<ReturnType<Remote<Logs>['lines']>, Promise<LogLine[]>>>;
// An AsyncIterable of any is a stream; a result typed never or any is not.
export type AnyItemsReturns = Assert<Equals<ReturnType<Remote<Logs>['anything']>, AsyncIterable<any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type NeverReturns = Assert<Equals<ReturnType<Remote<Logs>['untyped']>, Promise<never>>>;
export type AnyReturns = Assert<Equals<ReturnType<Remote<Logs>['loose']>, Promise<any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
// A stream method's DTO parameters take an instance or an object of the data, as a unary one's do.
export type FollowParameters = Assert<Equals<Parameters<Remote<Logs>['follow']>, [from: Cursor | { position: number }, also: (Cursor | { position: number })[]]>>;

export async function streamUsage(): Promise<void> {
  for await (const line of logs.tail('warn')) {
    const text: string = line.text;
    void text;
    // @ts-expect-error an item is a LogLine, not a string
    const wrong: string = line;
    void wrong;
  }
  for await (const n of logs.numbers(1, 3)) {
    const value: number = n;
    void value;
  }
  // @ts-expect-error the argument must be a string
  logs.tail(42);
  for await (const line of logs.follow({ position: 1 }, [{ position: 2 }])) void line;
  // @ts-expect-error the data of the DTO is a number
  logs.follow({ position: '1' }, []);
  await logs.untyped().then(() => undefined);
  // @ts-expect-error a method typed never is not a stream
  for await (const item of logs.untyped()) void item; // eslint-disable-line @typescript-eslint/await-thenable
  // @ts-expect-error a stream is not a Promise
  const awaited: LogLine[] = await logs.tail('warn'); // eslint-disable-line @typescript-eslint/await-thenable
  void awaited;
}
