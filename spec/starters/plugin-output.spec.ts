// readLines: a plugin's output read line by line, as readline does (\n, \r\n and a lone
// \r end a line), however the chunks fall.
import { PassThrough } from 'node:stream';
import { CUT_MARK, MAX_LINE, readLines } from '../../lib/starters/plugin-output';

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

  it('cuts a line longer than MAX_LINE and drops the rest of it, up to its \\r', async () => {
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
    expect(lines).toEqual(['x'.repeat(MAX_LINE) + CUT_MARK, 'next']);
  });
});
