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
}

declare const logs: Remote<Logs>;

// A stream method returns an AsyncIterable of its items, with its parameters unchanged.
export type TailReturns = Assert<Equals<ReturnType<Remote<Logs>['tail']>, AsyncIterable<LogLine>>>;
export type TailParameters = Assert<Equals<Parameters<Remote<Logs>['tail']>, [level: string]>>;
export type GeneratorReturns = Assert<Equals<ReturnType<Remote<Logs>['numbers']>, AsyncIterable<number>>>;
// Unary methods are unchanged, an array result included.
export type CountReturns = Assert<Equals<ReturnType<Remote<Logs>['count']>, Promise<number>>>;
export type LinesReturns = Assert<Equals<ReturnType<Remote<Logs>['lines']>, Promise<LogLine[]>>>;

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
  // @ts-expect-error a stream is not a Promise
  const awaited: LogLine[] = await logs.tail('warn'); // eslint-disable-line @typescript-eslint/await-thenable
  void awaited;
}
