import type { Readable } from 'node:stream';

/** A plugin's output stream read line by line. @internal */
export interface LineReader {
  /** Text after the last line break: output the plugin has not ended with a newline yet (cut as its line would be). */
  readonly partial: () => string;
  /** Settles once the stream has ended or was destroyed (its last line, if any, delivered). */
  readonly closed: Promise<void>;
  /** From now on, reads the stream without keeping or delivering anything: nobody wants its lines. */
  readonly discard: () => void;
}

/**
 * The longest line delivered, in characters (without its mark): a longer one keeps its
 * first and its last {@link LINE_TAIL} characters, and what lies between them is left out
 * and marked ({@link cutMark}). @internal
 */
export const MAX_LINE = 64 * 1024;

/**
 * The end of a line kept when it is cut: it decides what the line is (`loading... plugin
 * is ready` still ends with the ready line), and it is the part of standard error a failed
 * start shows (the last 4096 characters, as {@link OutputTail} keeps by default), so a
 * line reads there the same whether it was cut or not. @internal
 */
export const LINE_TAIL = 4096;

/** What replaces the `left` characters left out of a line longer than {@link MAX_LINE}. @internal */
export function cutMark(left: number): string {
  return `…[line cut: ${left} characters left out]…`;
}

const BREAK = /[\r\n]/g;

/**
 * Calls `onLine` for each line of `stream`, as `node:readline` with `crlfDelay: Infinity`
 * does (`\n`, `\r\n` and a lone `\r` end a line; the text after the last break is a line
 * once the stream ends), but keeps the unfinished text visible through `partial()`, which
 * readline hides: a start that fails can then say what the plugin printed without a newline.
 * A line longer than {@link MAX_LINE} is delivered, once it ends, with its middle left out
 * and marked (see {@link cutMark}): output without newlines must not grow the host without
 * bound, and the line must still end as it ends (the ready line after text without a
 * newline, the end a failed start shows).
 * @internal
 */
export function readLines(stream: Readable | null, onLine: (line: string) => void): LineReader {
  if (!stream) return { partial: () => '', closed: Promise.resolve(), discard: () => undefined };
  // The unfinished line: all of it, or, once it is longer than MAX_LINE, its last
  // characters (at least LINE_TAIL of them) after `head` and `left` characters left out.
  let pending = '';
  let head: string | undefined;
  let left = 0;
  /** The line whose unfinished part ends with `rest`, cut as it must be. */
  const whole = (rest: string): string => {
    if (head === undefined) {
      if (rest.length <= MAX_LINE) return rest;
      return rest.slice(0, MAX_LINE - LINE_TAIL) + cutMark(rest.length - MAX_LINE) + rest.slice(-LINE_TAIL);
    }
    return head + cutMark(left + rest.length - LINE_TAIL) + rest.slice(-LINE_TAIL);
  };
  const deliver = (rest: string): void => {
    const line = whole(rest);
    head = undefined;
    left = 0;
    onLine(line);
  };
  // The last chunk ended with \r: a \n at the start of the next one is the rest of \r\n.
  let afterReturn = false;
  const onData = (chunk: string): void => {
    if (afterReturn && chunk.startsWith('\n')) chunk = chunk.slice(1);
    afterReturn = false;
    pending += chunk;
    let start = 0;
    BREAK.lastIndex = 0;
    for (let match = BREAK.exec(pending); match; match = BREAK.exec(pending)) {
      const at = match.index;
      const line = pending.slice(start, at);
      // A \r ends its line at once (a plugin may print nothing after it): the \n of a
      // \r\n split between two chunks is dropped when it comes.
      if (pending[at] === '\r' && at + 1 === pending.length) afterReturn = true;
      start = pending[at] === '\r' && pending[at + 1] === '\n' ? at + 2 : at + 1;
      BREAK.lastIndex = start;
      deliver(line);
    }
    pending = pending.slice(start);
    // Past MAX_LINE the line keeps its head and a tail that moves on with the output.
    if (head === undefined && pending.length > MAX_LINE) {
      head = pending.slice(0, MAX_LINE - LINE_TAIL);
      pending = pending.slice(MAX_LINE - LINE_TAIL);
    }
    if (head !== undefined && pending.length > LINE_TAIL) {
      left += pending.length - LINE_TAIL;
      pending = pending.slice(-LINE_TAIL);
    }
  };
  stream.setEncoding('utf8');
  stream.on('data', onData);
  const closed = new Promise<void>((resolve) => {
    let flushed = false;
    const flush = (): void => {
      if (flushed) return;
      flushed = true;
      const rest = pending;
      pending = '';
      if (rest !== '' || head !== undefined) deliver(rest);
      resolve();
    };
    stream.once('end', flush);
    stream.once('close', flush);
  });
  const discard = (): void => {
    stream.off('data', onData);
    pending = '';
    head = undefined;
    left = 0;
    // Still read the pipe, so that the plugin never blocks on a full one; drop what comes.
    stream.on('data', () => undefined);
  };
  return { partial: () => (head === undefined ? pending : whole(pending)), closed, discard };
}

/**
 * The last lines of a plugin's output, bounded in lines and characters, for the error of
 * a start that failed.
 * @internal
 */
export class OutputTail {
  private readonly kept: string[] = [];
  private size = 0;
  private seen = 0;

  constructor(
    private readonly maxLines = 20,
    private readonly maxChars = 4096,
  ) {}

  /** Adds a line; blank lines are left out, they would only take room. */
  push(line: string): void {
    if (line.trim() === '') return;
    this.seen++;
    const kept = line.length > this.maxChars ? `…${line.slice(line.length - this.maxChars + 1)}` : line;
    this.kept.push(kept);
    this.size += kept.length + 1;
    while (this.kept.length > this.maxLines || this.size > this.maxChars + 1) this.size -= (this.kept.shift() ?? '').length + 1;
  }

  /** The kept lines, joined by `\n`. */
  get text(): string {
    return this.kept.join('\n');
  }

  /** How many lines were pushed but are no longer kept. */
  get omitted(): number {
    return this.seen - this.kept.length;
  }

  /** The kept lines as a paragraph for an error message: a heading, then each line indented. */
  describe(what: string): string {
    const text = this.text;
    if (text === '') return '';
    const heading = this.omitted > 0 ? `the last ${this.kept.length} lines of ${what} (${this.omitted} before them left out)` : what;
    return `\n${heading}:\n${text.replace(/^/gm, '  ')}`;
  }
}
