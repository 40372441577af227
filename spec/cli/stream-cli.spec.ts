// `plugwire call` and `plugwire inspect` of stream methods, run as a user runs them: the
// built command in its own process, with the stream fixture plugin (and for --stream the Go
// stand-in and the manifest fixture's unary methods). Items are printed one JSON line each
// as they arrive; Ctrl-C and a closed pipe end the stream (the plugin's iterator ends: its
// finally runs) and stop the plugin, and no process is left (afterEach looks in /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fixture, removeDir, tempDir, waitFor, processesMarked } from '../support/host-helpers';

const ROOT = path.join(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/lib/cli/plugwire.js');
const TICKER = fixture('manifest/stream-plugin');
const GO_PLUGIN = fixture('compat/go-plugin');
const MANIFEST_PLUGIN = fixture('manifest/manifest-plugin');

/** The last argument of every plugin command given to the CLI: marks its processes. */
const MARKER = `pw-stream-cli-spec-${process.pid}-${Date.now()}`;

function plugin(script: string): string[] {
  return ['--', process.execPath, script, MARKER];
}

/** Processes whose command line carries MARKER and that still run. */
function leftovers(): number[] {
  return processesMarked(MARKER);
}

interface Outcome {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  /** Standard output line by line, as the lines arrive (with their arrival time). */
  readonly lines: Array<{ text: string; at: number }>;
  /** Resolves once the command exited and its output ended. */
  readonly done: Promise<Outcome>;
}

/** Starts the built command; a bound, not a wait: a command that hangs is killed and fails on its status. */
function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: Array<{ text: string; at: number }> = [];
  let stdout = '';
  let stderr = '';
  const out = child.stdout;
  out.on('error', () => undefined);
  out.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  createInterface({ input: out }).on('line', (text) => lines.push({ text, at: Date.now() }));
  (child.stderr).setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const bound = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const done = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(bound);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { child, lines, done };
}

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return start(args, env).done;
}

afterEach(() => {
  const left = leftovers();
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left).toEqual([]);
});

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

/** How many items the plugin's /forever had made when its finally ran (it writes `finally <n>`). */
function finallyAfter(mark: string): number {
  const match = /^finally (\d+)\n$/.exec(readFileSync(mark, 'utf8'));
  if (!match) throw new Error(`${mark} does not say finally <n>`);
  return Number(match[1]);
}

describe('plugwire and stream methods', () => {
  it('inspect shows a stream method\'s result as "stream of" its item type', async () => {
    const { status, stdout, stderr } = await run(['inspect', ...plugin(TICKER)]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/^\/count\s+count\s+number\s+stream of any\s+yes$/m);
    expect(stdout).toMatch(/^\/fail-after\s+failAfter\s+number, string\s+stream of Line\s+yes$/m);
    expect(stdout).toMatch(/^\/forever\s+forever\s+-\s+stream of Line\s+yes$/m);
    expect(stdout).toMatch(/^\/hello\s+hello\s+string\s+any\s+yes$/m);
    const json = await run(['inspect', '--json', ...plugin(TICKER)]);
    const manifest = JSON.parse(json.stdout) as { methods: Array<{ route: string; stream?: boolean }> };
    expect(manifest.methods.map((m) => [m.route, m.stream])).toEqual([
      ['/count', true],
      ['/fail-after', true],
      ['/forever', true],
      ['/hello', undefined],
    ]);
  });

  it('call prints each item as one line of JSON, and exits 0 at the end of the stream', async () => {
    const [count, lines, empty, unary] = await Promise.all([
      run(['call', '/count', '3', ...plugin(TICKER)]),
      run(['call', '/forever', '--timeout', '3000', ...plugin(TICKER)]),
      run(['call', '/count', '0', ...plugin(TICKER)]),
      run(['call', '/hello', '"Ada"', ...plugin(TICKER)]),
    ]);
    expect(count).toEqual({ status: 0, signal: null, stdout: '1\n2\n3\n', stderr: '' });
    expect(empty).toEqual({ status: 0, signal: null, stdout: '', stderr: '' });
    // A unary method beside them is printed as before.
    expect(unary).toEqual({ status: 0, signal: null, stdout: '"hello Ada"\n', stderr: '' });
    // --timeout given bounds the whole stream: the items before it, then the timeout.
    expect(lines).toMatchObject({ status: 5, stderr: expect.stringMatching(/^plugwire: PLUGWIRE_TIMEOUT: [^\n]+\n$/) });
    expect(lines.stdout.split('\n').length).toBeGreaterThan(3);
  });

  it('an error after items prints the items, then the error in one line, with its exit status', async () => {
    const outcome = await run(['call', '-q', '/fail-after', '[2,"it broke"]', ...plugin(TICKER)]);
    expect(outcome).toEqual({
      status: 8,
      signal: null,
      stdout: '{"n":1,"text":"line 1"}\n{"n":2,"text":"line 2"}\n',
      stderr: 'plugwire: PLUGWIRE_REMOTE: it broke\n',
    });
  });

  it('prints items as they arrive', async () => {
    const running = start(['call', '/forever', ...plugin(TICKER)]);
    // 20 ms apart: after well over the first item's arrival, items keep coming.
    await waitFor(() => running.lines.length >= 5, 15_000);
    const first = running.lines[0] as { text: string; at: number };
    const fifth = running.lines[4] as { text: string; at: number };
    expect(JSON.parse(first.text)).toEqual({ n: 1, text: 'line 1' });
    expect(fifth.at).toBeGreaterThan(first.at);
    running.child.kill('SIGINT');
    await running.done;
  });

  it('Ctrl-C ends the stream (the plugin\'s finally runs) and stops the plugin: whole items only, exit status 130', async () => {
    const mark = path.join(dir, 'sigint.txt');
    const running = start(['call', '/forever', ...plugin(TICKER)], { STREAM_MARK_FILE: mark });
    await waitFor(() => running.lines.length >= 3, 15_000);
    running.child.kill('SIGINT'); // the command only, as a test can; a terminal signals the plugin too
    const outcome = await running.done;
    expect(outcome).toMatchObject({ status: 130, signal: null, stderr: '' });
    // Every line printed is a whole item.
    const printed = outcome.stdout.trimEnd().split('\n');
    for (const [i, line] of printed.entries()) expect(JSON.parse(line)).toEqual({ n: i + 1, text: `line ${i + 1}` });
    // The plugin's iterator was ended (its finally ran) before the plugin stopped.
    expect(finallyAfter(mark)).toBeGreaterThanOrEqual(printed.length);
  });

  it('a closed standard output (| head -3) ends the stream and the command with status 0', async () => {
    const mark = path.join(dir, 'pipe.txt');
    const running = start(['call', '/forever', ...plugin(TICKER)], { STREAM_MARK_FILE: mark });
    await waitFor(() => running.lines.length >= 3, 15_000);
    running.child.stdout?.destroy();
    const outcome = await running.done;
    expect(outcome).toMatchObject({ status: 0, signal: null, stderr: '' });
    expect(finallyAfter(mark)).toBeGreaterThanOrEqual(3);
  });

  it('--stream reads a plugin without a manifest as a stream: a JSON array is one line per element, another answer one line', async () => {
    const [go, unary, array] = await Promise.all([
      run(['call', '--stream', '/modify', '"x"', ...plugin(GO_PLUGIN)]),
      run(['call', '--stream', '/hello', '"Bo"', ...plugin(TICKER)]),
      run(['call', '--stream', '/items', 'null', ...plugin(MANIFEST_PLUGIN)]),
    ]);
    expect(go).toEqual({ status: 0, signal: null, stdout: '"x decorated"\n', stderr: '' });
    expect(unary).toEqual({ status: 0, signal: null, stdout: '"hello Bo"\n', stderr: '' });
    expect(array).toEqual({ status: 0, signal: null, stdout: '{"id":1}\n{"id":2}\n', stderr: '' });
  });

  it('call --help mentions --stream', async () => {
    const { status, stdout } = await run(['call', '--help']);
    expect(status).toBe(0);
    expect(stdout).toContain('--stream');
    expect(stdout).toMatch(/until it ends or Ctrl-C/);
  });
});
