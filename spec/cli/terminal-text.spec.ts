// What the plugwire command prints of a plugin's text: its control characters, line and
// paragraph separators and bidirectional formatting characters escaped, so that a hostile
// or broken plugin cannot act on the user's terminal. First the two functions, then the
// built command in its own process against a plugin that puts such text everywhere
// (spec/fixtures/cli/hostile-text-plugin.ts) and one that fails to start printing it.
import fc from 'fast-check';
import * as path from 'node:path';
import { forTerminal, jsonForTerminal } from '../../lib/cli/terminal-text';
import { runCli, type CliOutcome } from '../support/cli';
import { fixture, processesMarked, removeDir, spawnNode, tempDir, type Spawned } from '../support/host-helpers';

/** Every character the command must not print as it is. */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** The unsafe characters in printed text, as code points (the line breaks the command writes aside). */
function rawUnsafe(text: string): string[] {
  return [...text.replace(/\n/g, '')].filter((c) => UNSAFE.test(c)).map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/**
 * Colour, an OSC 52 clipboard write ended by BEL, a cursor move, a carriage return that would
 * overwrite the line, backspace, tab, form feed, the C1 CSI, OSC and ST, NEL, DEL, a
 * right-to-left override, an isolate, the bidi marks, the separators, and a line break.
 */
const HOSTILE =
  'red\x1b[31m clip\x1b]52;c;aGk=\x07 up\x1b[2A cr\rover bs\b tab\t ff\f csi\u009b2J osc\u009d0;t\u009c nel\u0085 del\x7f rlo\u202eevil\u202c lri\u2066x\u2069 lrm\u200e rlm\u200f alm\u061c ls\u2028ps\u2029 nl\n end';
/** HOSTILE as the command prints it. */
const ESCAPED =
  'red\\u001b[31m clip\\u001b]52;c;aGk=\\u0007 up\\u001b[2A cr\\rover bs\\b tab\\t ff\\f csi\\u009b2J osc\\u009d0;t\\u009c nel\\u0085 del\\u007f rlo\\u202eevil\\u202c lri\\u2066x\\u2069 lrm\\u200e rlm\\u200f alm\\u061c ls\\u2028ps\\u2029 nl\\n end';

describe('forTerminal()', () => {
  it.each([
    ['ESC of a colour', '\x1b[31mred', '\\u001b[31mred'],
    ['an OSC 52 clipboard write and BEL', '\x1b]52;c;aGk=\x07', '\\u001b]52;c;aGk=\\u0007'],
    ['NUL', 'a\x00b', 'a\\u0000b'],
    ['the short escapes JSON has', '\r\n\t\b\f', '\\r\\n\\t\\b\\f'],
    ['DEL', '\x7f', '\\u007f'],
    ['the C1 controls: CSI, NEL, ST', '\u009b2J\u0085\u009c', '\\u009b2J\\u0085\\u009c'],
    ['the bidirectional overrides, embeddings and isolates', '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069', '\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069'],
    ['the bidirectional marks', '\u200e\u200f\u061c', '\\u200e\\u200f\\u061c'],
    ['the line and paragraph separators', '\u2028\u2029', '\\u2028\\u2029'],
  ])('escapes %s', (_, text, shown) => {
    expect(forTerminal(text)).toBe(shown);
  });

  it.each([
    ['ASCII, backslashes and quotes', 'Address \\d+ "x" \'y\' ~'],
    ['letters of other scripts, a no-break space and emoji', 'é ü 中文 עברית\u00a0😀 👩\u200d💻'],
  ])('leaves %s as they are', (_, text) => {
    expect(forTerminal(text)).toBe(text);
  });

  it('leaves no unsafe character in any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => rawUnsafe(forTerminal(text)).length === 0));
  });
});

describe('jsonForTerminal()', () => {
  it('is JSON.stringify with DEL, C1, the separators and the bidirectional characters escaped too', () => {
    const value = { [`k${HOSTILE}`]: [HOSTILE, 1, null, { nested: '\u009b' }] };
    const json = jsonForTerminal(value, 2) as string;
    expect(rawUnsafe(json)).toEqual([]);
    expect(JSON.parse(json)).toEqual(value);
    expect(json).toBe(JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  });

  it('writes what has none of them exactly as JSON.stringify does, and undefined as undefined', () => {
    const value = { name: 'Ada', note: 'tab\there, é 😀', n: [1, 2.5, true, null] };
    expect(jsonForTerminal(value, 2)).toBe(JSON.stringify(value, null, 2));
    expect(jsonForTerminal(value)).toBe(JSON.stringify(value));
    expect(jsonForTerminal(undefined)).toBeUndefined();
  });

  it('parses back to the same value and leaves no unsafe character, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = jsonForTerminal(value, 2) as string;
        expect(rawUnsafe(json)).toEqual([]);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('plugwire (the built command) and the text of a hostile plugin', () => {
  const PLUGIN = fixture('cli/hostile-text-plugin');
  /** The last argument of every plugin command given to the CLI: marks its processes. */
  const MARKER = `pw-terminal-text-spec-${process.pid}-${Date.now()}`;
  const env = { HOSTILE_TEXT: HOSTILE };
  const plugin = (script: string): string[] => ['--', process.execPath, script, MARKER];

  afterEach(() => {
    const left = processesMarked(MARKER);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
  });

  /** The outcome, with what of it reached the terminal unescaped. */
  const shown = (outcome: CliOutcome): CliOutcome & { unsafe: string[] } => ({ ...outcome, unsafe: rawUnsafe(outcome.stdout + outcome.stderr) });

  it('inspect shows the manifest with every part of its text escaped, its table intact', async () => {
    const outcome = shown(await runCli(['inspect', ...plugin(PLUGIN)], env));
    expect(outcome).toMatchObject({ status: 0, unsafe: [] });
    const lines = outcome.stdout.split('\n').map((line) => line.trimEnd());
    expect(lines[0]).toBe(`plugin name ${ESCAPED} version ${ESCAPED} (protocol 1, plugwire extensions 1)`);
    // One line per method and per field: the line breaks in the text did not break the table.
    expect(lines).toHaveLength(10);
    expect(lines[3]).toMatch(new RegExp(`^/route${escapeRegExp(ESCAPED)}\\s+method ${escapeRegExp(ESCAPED)}\\s+Class${escapeRegExp(ESCAPED)}\\s+result ${escapeRegExp(ESCAPED)}\\s+yes$`));
    expect(lines[4]).toMatch(/^\/answer\s+answer\s+-\s+unknown\s+yes$/);
    // The columns still line up: the second starts at the same place on every row.
    const column = (line: string): number => line.search(/ {2}\S/);
    expect(new Set(lines.slice(2, 5).map(column)).size).toBe(1);
    expect(lines[6]).toBe(`Class${ESCAPED}`);
    expect(lines[7]).toMatch(new RegExp(`^ {2}field${escapeRegExp(ESCAPED)}\\s+string \\(format ${escapeRegExp(ESCAPED)}, /pattern ${escapeRegExp(ESCAPED)}/\\)$`));
    expect(lines[8]).toMatch(new RegExp(`^ {2}choice\\?\\s+string \\(one of "one ${escapeRegExp(ESCAPED)}", "two"\\)$`));
    // The plugin's own output, forwarded line by line (its \r and \n end lines), escaped too.
    expect(outcome.stderr).toContain(`[hostile-text-plugin] stdout red\\u001b[31m clip\\u001b]52;c;aGk=\\u0007 up\\u001b[2A cr\n`);
    expect(outcome.stderr).toContain(`[hostile-text-plugin] over bs\\b tab\\t ff\\f csi\\u009b2J osc\\u009d0;t\\u009c nel\\u0085 del\\u007f rlo\\u202eevil\\u202c lri\\u2066x\\u2069 lrm\\u200e rlm\\u200f alm\\u061c ls\\u2028ps\\u2029 nl\n`);
  });

  it('inspect --json prints the exact manifest, as JSON that carries none of the characters raw', async () => {
    const outcome = shown(await runCli(['inspect', '--json', '-q', ...plugin(PLUGIN)], env));
    expect(outcome).toMatchObject({ status: 0, stderr: '', unsafe: [] });
    const manifest = JSON.parse(outcome.stdout) as { plugin: unknown; methods: Array<{ route: string }>; definitions: Record<string, unknown> };
    expect(manifest.plugin).toEqual({ name: `name ${HOSTILE}`, version: `version ${HOSTILE}` });
    expect(manifest.methods[0]?.route).toBe(`/route${HOSTILE}`);
    expect(Object.keys(manifest.definitions)).toEqual([`Class${HOSTILE}`]);
  });

  it('call prints the exact answer as JSON, and a stream its items, with none of the characters raw', async () => {
    const [answer, stream] = await Promise.all([
      runCli(['call', '-q', '/answer', ...plugin(PLUGIN)], env).then(shown),
      runCli(['call', '-q', '--stream', '/items', ...plugin(PLUGIN)], env).then(shown),
    ]);
    expect(answer).toMatchObject({ status: 0, stderr: '', unsafe: [] });
    expect(JSON.parse(answer.stdout)).toEqual({ [`key ${HOSTILE}`]: `value ${HOSTILE}`, list: [HOSTILE] });
    expect(stream).toMatchObject({ status: 0, stderr: '', unsafe: [] });
    expect(stream.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([`first ${HOSTILE}`, { item: HOSTILE }]);
  });

  it("prints the plugin's error message escaped, on one line", async () => {
    const outcome = shown(await runCli(['call', '-q', '/fail', ...plugin(PLUGIN)], env));
    // The one line joins the message's lines with a space, as for any message.
    expect(outcome).toEqual({ status: 8, stdout: '', stderr: `plugwire: PLUGWIRE_REMOTE: it failed: ${ESCAPED.replace('nl\\n end', 'nl end')}\n`, unsafe: [] });
  });

  it("escapes a plugin's standard error that it printed before it failed to start, forwarded or (-q) in the error", async () => {
    const script = ['-e', 'process.stderr.write(process.env.HOSTILE_TEXT); process.exit(1)', MARKER];
    const [loud, quiet] = await Promise.all([
      runCli(['call', '/x', '--', process.execPath, ...script], env).then(shown),
      runCli(['call', '-q', '/x', '--', process.execPath, ...script], env).then(shown),
    ]);
    const pieces = [`red\\u001b[31m clip\\u001b]52;c;aGk=\\u0007 up\\u001b[2A cr`, 'over bs\\b tab\\t ff\\f csi\\u009b2J', ' end'];
    for (const outcome of [loud, quiet]) {
      expect(outcome).toMatchObject({ status: 3, stdout: '', unsafe: [] });
      expect(outcome.stderr).toMatch(/^plugwire: PLUGWIRE_START: plugin node exited before it was ready \(code 1\)$/m);
      for (const piece of pieces) expect(outcome.stderr).toContain(piece);
    }
  });

  describe('--socket and health, with a socket path of such text', () => {
    let dir: string;
    let socket: string;
    let running: Spawned;

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'x\x1b[31m\u202e.sock');
      running = spawnNode([PLUGIN], { ...env, PLUGIN_SOCKET: socket });
      await running.line(/^plugin is ready$/);
    });

    afterAll(async () => {
      if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
      await running?.exited;
      removeDir(dir);
    });

    it('health --verbose, inspect, and a health check where nothing listens, print the path and the text escaped', async () => {
      const shownPath = path.join(dir, 'x\\u001b[31m\\u202e.sock');
      const [health, inspect, nowhere] = await Promise.all([
        runCli(['health', '--verbose', '--socket', socket]).then(shown),
        runCli(['inspect', '--socket', socket]).then(shown),
        runCli(['health', '--socket', `${socket}.gone`]).then(shown),
      ]);
      expect(health).toMatchObject({ status: 0, stderr: '', unsafe: [] });
      expect(health.stdout).toMatch(new RegExp(`^${escapeRegExp(shownPath)}: alive: a protocol version 1 plugin \\(it has no health route and answered 404\\), \\d+ ms\n$`));
      expect(inspect).toMatchObject({ status: 0, stderr: '', unsafe: [] });
      expect(inspect.stdout.split('\n')[0]).toBe(`plugin name ${ESCAPED} version ${ESCAPED} (protocol 1, plugwire extensions 1)`);
      expect(nowhere).toEqual({ status: 3, stdout: '', stderr: `plugwire: PLUGWIRE_START: nothing listens on ${shownPath}.gone: no such file\n`, unsafe: [] });
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
