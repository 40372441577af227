// readLines: a plugin's output read line by line, as readline does (\n, \r\n and a lone
// \r end a line), however the chunks fall.
import { PassThrough } from 'node:stream';
import { cutMark, LINE_TAIL, MAX_LINE, readLines } from '../../lib/starters/plugin-output';

function reader(): { stream: PassThrough; lines: string[]; reader: ReturnType<typeof readLines> } {
  const stream = new PassThrough();
  const lines: string[] = [];
  return { stream, lines, reader: readLines(stream, (line) => lines.push(line)) };
}

/** Lets the stream's 'data' events run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('readLines', () => {
  it('delivers a line ended by a lone \\r at once, with nothing after it', async () => {
    const { stream, lines, reader: r } = reader();
    stream.write('plugin is ready\r');
    await turn();
    expect(lines).toEqual(['plugin is ready']);
    expect(r.partial()).toBe('');
    stream.end();
    await r.closed;
    expect(lines).toEqual(['plugin is ready']);
  });

  it.each([
    ['one chunk', ['a\r\nb\rc\nd']],
    ['\\r\\n split between chunks', ['a\r', '\nb\r', 'c\n', 'd']],
    ['one character at a time', [...'a\r\nb\rc\nd']],
  ])('ends lines at \\n, \\r\\n and a lone \\r (%s)', async (_label, chunks) => {
    const { stream, lines, reader: r } = reader();
    for (const chunk of chunks) {
      stream.write(chunk);
      await turn();
    }
    expect(r.partial()).toBe('d');
    stream.end();
    await r.closed;
    expect(lines).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps an empty line between two \\r, and a \\n after \\r\\n', async () => {
    const { stream, lines, reader: r } = reader();
    stream.write('a\r');
    await turn();
    stream.write('\r\n\n');
    stream.end();
    await r.closed;
    expect(lines).toEqual(['a', '', '']);
  });

  it('cuts a line longer than MAX_LINE in its middle, keeping its end, up to its \\r', async () => {
    const { stream, lines, reader: r } = reader();
    stream.write('x'.repeat(MAX_LINE + 10));
    await turn();
    stream.write('y'.repeat(100));
    await turn();
    stream.write('\r');
    await turn();
    stream.write('\nnext\n');
    stream.end();
    await r.closed;
    expect(lines).toEqual(['x'.repeat(MAX_LINE - LINE_TAIL) + cutMark(110) + 'x'.repeat(LINE_TAIL - 100) + 'y'.repeat(100), 'next']);
  });

  // 'loading... ' written 10,000 times without a newline, then the ready line: the line
  // that ends must still end with it, however the output was cut into chunks.
  it.each([
    ['one chunk', 1],
    ['chunks of 64 KiB', 64 * 1024],
    ['chunks of 1000 characters', 1000],
    ['chunks of 7 characters', 7],
  ])('keeps the end of a line longer than MAX_LINE: it still ends with the ready line (%s)', async (_label, size) => {
    const { stream, lines, reader: r } = reader();
    const text = 'loading... '.repeat(10_000) + 'plugin is ready';
    const whole = size === 1 ? text.length : size;
    for (let at = 0; at < text.length; at += whole) stream.write(text.slice(at, at + whole));
    await turn();
    const cut = text.slice(0, MAX_LINE - LINE_TAIL) + cutMark(text.length - MAX_LINE) + text.slice(-LINE_TAIL);
    // Before its newline the line shows as it will be delivered: a timeout can still say how it ends.
    expect(r.partial() === cut).toBe(true);
    stream.write('\nafter\n');
    stream.end();
    await r.closed;
    expect(lines.map((line) => line.length)).toEqual([MAX_LINE + cutMark(text.length - MAX_LINE).length, 'after'.length]);
    expect(lines[0] === cut).toBe(true);
    expect(lines[0]?.endsWith('loading... plugin is ready')).toBe(true);
  });

  it('delivers a cut line that the stream ends without a newline, cut the same way', async () => {
    const { stream, lines, reader: r } = reader();
    stream.write('z'.repeat(MAX_LINE + 1));
    stream.end('failed to listen on socket');
    await r.closed;
    const left = 1 + 'failed to listen on socket'.length;
    expect(lines).toEqual(['z'.repeat(MAX_LINE - LINE_TAIL) + cutMark(left) + 'z'.repeat(LINE_TAIL - 26) + 'failed to listen on socket']);
  });
});
