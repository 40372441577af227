// The plugwire command, run as a user runs it: the built dist/lib/cli/plugwire.js in its
// own process, with real plugin processes (the Modifier sample, the manifest fixture, the
// Go stand-in) and sockets. Every plugin command it is given carries MARKER as its last
// argument, so that a plugin process left behind is found in /proc after each test.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { readManifest, start, startWithCommand } from 'plugwire';
import { EXIT_CODES, type ExitReason } from '../../lib/cli/exit-codes';
import { connectOutcome, fixture, pidAlive, removeDir, spawnNode, tempDir, type Spawned, processesMarked } from '../support/host-helpers';

const ROOT = path.join(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/lib/cli/plugwire.js');
const SAMPLE = path.join(ROOT, 'dist/samples/modifier/plugin.js');
const FIXTURE = fixture('manifest/manifest-plugin');
const GO_PLUGIN = fixture('compat/go-plugin');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The last argument of every plugin command given to the CLI: marks its processes. */
const MARKER = `pw-cli-spec-${process.pid}-${Date.now()}`;

/** `-- node <script> MARKER`: the plugin command part of the CLI's arguments. */
function plugin(script: string, ...args: string[]): string[] {
  return ['--', process.execPath, script, ...args, MARKER];
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
  /** From the spawn to the exit, ms. */
  readonly elapsed: number;
}

interface RunOptions {
  /** Written to the command's standard input, which is then closed; default: no input (/dev/null). */
  readonly stdin?: string;
  /** Written to standard input once this many ms have passed (a slow producer), then closed. */
  readonly stdinAfter?: number;
  /** Added to the environment (the plugin inherits it). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs the built command with these arguments and resolves once it has exited and its output ended. */
function run(args: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const began = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  (child.stdout as Readable).setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  (child.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let feeder: NodeJS.Timeout | undefined;
  if (options.stdin !== undefined) {
    const input = options.stdin;
    child.stdin?.on('error', () => undefined); // a command that exited early closes its end
    if (options.stdinAfter === undefined) child.stdin?.end(input);
    else feeder = setTimeout(() => child.stdin?.end(input), options.stdinAfter);
  }
  // A bound, not a wait: a command that hangs is killed and the test fails on its status.
  const bound = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(bound);
      clearTimeout(feeder);
      resolve({ status, signal, stdout, stderr, elapsed: Date.now() - began });
    });
  });
}

/** The outcome with a label, so that a failed expectation in a batch names its case. */
function labelled(label: string, outcome: Outcome): Outcome & { label: string } {
  return { label, ...outcome };
}

/** One line on standard error: `plugwire: ` and the rest. */
const ONE_LINE = /^plugwire: [^\n]+\n$/;

afterEach(() => {
  const left = leftovers();
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left).toEqual([]);
});

describe('plugwire (the built command)', () => {
  describe('--version and --help', () => {
    it('--version and -V print the version of package.json', async () => {
      const [long, short] = await Promise.all([run(['--version']), run(['-V'])]);
      for (const outcome of [long, short]) {
        expect(outcome).toMatchObject({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
      }
    });

    it('--help lists the commands and the exit statuses', async () => {
      const { status, stdout, stderr } = await run(['--help']);
      expect(status).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^Usage: plugwire /);
      expect(stdout).toMatch(/^\s+inspect \[options\]/m);
      expect(stdout).toMatch(/^\s+call \[options\] <route> \[json\]/m);
      expect(stdout).toMatch(/^Exit status:$/m);
    });

    // The table is made from EXIT_CODES: a code added there shows up in every --help.
    it('--help of plugwire, inspect and call lists every exit status, one per line with its code', async () => {
      const outcomes = await Promise.all([run(['--help']), run(['inspect', '--help']), run(['call', '--help'])]);
      const words: Partial<Record<ExitReason, string>> = { UNEXPECTED: 'anything else', USAGE: 'usage' };
      const entries = Object.entries(EXIT_CODES) as Array<[ExitReason, number]>;
      // One status each, from 1 up without a gap (15 since PLUGWIRE_OVERLOADED).
      expect(entries.map(([, status]) => status).sort((a, b) => a - b)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
      expect(EXIT_CODES.PLUGWIRE_OVERLOADED).toBe(15);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ status: 0, stderr: '' });
        expect(outcome.stdout).toMatch(/^ {2}0 +success$/m);
        for (const [reason, status] of entries) {
          expect(outcome.stdout).toMatch(new RegExp(`^ {2}${status} +${words[reason] ?? `${reason}: `}`, 'm'));
        }
      }
    });

    it('inspect --help and call --help describe their arguments and options', async () => {
      const [inspect, call, helpCall] = await Promise.all([run(['inspect', '--help']), run(['call', '--help']), run(['help', 'call'])]);
      expect(inspect).toMatchObject({ status: 0, stderr: '' });
      expect(inspect.stdout).toMatch(/^Usage: plugwire inspect \[options\] -- <plugin command\.\.\.>/);
      for (const option of ['--json', '--socket <path>', '--token <token>', '--timeout <ms>', '-q, --quiet']) expect(inspect.stdout).toContain(option);

      expect(call).toMatchObject({ status: 0, stderr: '' });
      expect(call.stdout).toMatch(/^Usage: plugwire call \[options\] <route> \[json\] -- <plugin command\.\.\.>/);
      for (const text of ['route', 'json', 'standard input', '--socket <path>', '--token <token>', '--timeout <ms>', '-q, --quiet', 'Examples:']) expect(call.stdout).toContain(text);
      expect(call.stdout).not.toContain('--json');
      expect(helpCall.stdout).toBe(call.stdout);
    });

    it('inspect --help and call --help mention the exit statuses', async () => {
      const [inspect, call] = await Promise.all([run(['inspect', '--help']), run(['call', '--help'])]);
      expect(inspect.stdout).toMatch(/exit status/i);
      expect(call.stdout).toMatch(/exit status/i);
    });
  });

  describe('inspect', () => {
    it('prints the methods of the sample as a table, then the fields of its classes', async () => {
      const { status, stdout, stderr } = await run(['inspect', ...plugin(SAMPLE)]);
      expect(status).toBe(0);
      expect(stderr).toBe('');
      const lines = stdout.split('\n');
      expect(lines[0]).toBe('plugin modifier (protocol 1, plugwire extensions 1)');
      expect(lines[2]).toMatch(/^ROUTE\s+METHOD\s+PARAMETERS\s+RESULT\s+IDEMPOTENT$/);
      expect(stdout).toMatch(/^\/modify\s+modify\s+string\s+any\s+yes$/m);
      expect(stdout).toMatch(/^\/greet\s+greet\s+Person\s+Greeting\s+yes$/m);
      expect(stdout).toMatch(/^\/join\s+join\s+any\[\], string, number\s+any\s+yes$/m);
      // The classes, field by field: optional fields end in '?'.
      expect(stdout).toMatch(/^Person\n {2}name\s+string \(1\.\.50 chars\)\n {2}age\s+integer \(0\.\.150\)\n {2}email\?\s+string \(email\)\n {2}address\?\s+Address$/m);
      expect(stdout).toMatch(/^Address\n {2}city\s+string \(1\.\.100 chars\)$/m);
      expect(stdout).toMatch(/^Greeting\n {2}text\s+string\n {2}length\s+integer$/m);
      expect(stdout.endsWith('\n')).toBe(true);
    });

    it('--json prints the manifest that readManifest() reads', async () => {
      const [outcome, expected] = await Promise.all([
        run(['inspect', '--json', ...plugin(SAMPLE)]),
        (async () => {
          const { client, term } = await start(startWithCommand(process.execPath, [SAMPLE], { logger: false }));
          try {
            return await readManifest(client);
          } finally {
            await term();
          }
        })(),
      ]);
      expect(outcome).toMatchObject({ status: 0, stderr: '' });
      const printed: unknown = JSON.parse(outcome.stdout);
      expect(expected).toBeDefined();
      expect(printed).toEqual(expected);
      expect(printed).toMatchObject({ manifest: 1, protocol: 1, plugin: { name: 'modifier', version: null } });
    });

    it("shows the plugin's name and version, non-idempotent methods, array results and Date parameters", async () => {
      const { status, stdout } = await run(['inspect', '-q', ...plugin(FIXTURE)], { env: { MANIFEST_NAME: 'ledger', MANIFEST_VERSION: '2.3.4' } });
      expect(status).toBe(0);
      expect(stdout.split('\n')[0]).toBe('plugin ledger 2.3.4 (protocol 1, plugwire extensions 1)');
      expect(stdout).toMatch(/^\/charge\s+charge\s+number\s+any\s+no$/m);
      expect(stdout).toMatch(/^\/items\s+items\s+-\s+Item\[\]\s+yes$/m);
      expect(stdout).toMatch(/^\/at\s+at\s+string \(date-time\)\s+any\s+yes$/m);
      expect(stdout).toMatch(/^Member\n {2}handle\s+string \(2\.\.20 chars\)\n {2}role\s+string \(one of "dev", "ops"\)$/m);
      expect(stdout).toMatch(/^Bare\n {2}\(no validated fields\)$/m);
    });

    it('says that a Go plugin has no manifest (exit 0), and --json prints null', async () => {
      const [text, json] = await Promise.all([run(['inspect', ...plugin(GO_PLUGIN)]), run(['inspect', '--json', ...plugin(GO_PLUGIN)])]);
      expect(text).toMatchObject({ status: 0, stderr: '' });
      expect(text.stdout).toMatch(/^plugin go-plugin has no manifest: it speaks protocol version 1 only .*its methods are not listed\n$/);
      expect(json).toMatchObject({ status: 0, stdout: 'null\n', stderr: '' });
    });
  });

  describe('call', () => {
    it('sends the json argument and prints the answer as JSON', async () => {
      const outcome = await run(['call', '/modify', '"some value"', ...plugin(SAMPLE)]);
      expect(outcome).toMatchObject({ status: 0, stdout: '"some value decorated"\n', stderr: '' });
    });

    it('reads the payload from standard input when there is no json argument', async () => {
      const [text, person, empty] = await Promise.all([
        run(['call', '/modify', ...plugin(SAMPLE)], { stdin: '"piped"\n' }),
        run(['call', '/greet', ...plugin(SAMPLE)], { stdin: JSON.stringify({ name: 'Ada', age: 36, address: { city: 'London' } }) }),
        // No input at all: the payload is null.
        run(['call', '/ping', ...plugin(FIXTURE)]),
      ]);
      expect(labelled('text', text)).toMatchObject({ label: 'text', status: 0, stdout: '"piped decorated"\n', stderr: '' });
      expect(labelled('person', person)).toMatchObject({ label: 'person', status: 0, stderr: '' });
      expect(JSON.parse(person.stdout)).toEqual({ text: 'hello Ada from London', length: 21 });
      expect(labelled('empty', empty)).toMatchObject({ label: 'empty', status: 0, stdout: '"pong"\n', stderr: '' });
    });
    it('waits for a payload that arrives on standard input later', async () => {
      const outcome = await run(['call', '/modify', ...plugin(SAMPLE)], { stdin: '"late"', stdinAfter: 1000 });
      expect(outcome).toMatchObject({ status: 0, stdout: '"late decorated"\n', stderr: '' });
    });

    it('prints a DTO answer as an indented JSON object, and an array result', async () => {
      const [greeting, items] = await Promise.all([
        run(['call', '/greet', '{"name":"Ada","age":36}', ...plugin(SAMPLE)]),
        run(['call', '/items', 'null', ...plugin(FIXTURE)]),
      ]);
      expect(greeting).toMatchObject({ status: 0, stderr: '' });
      expect(greeting.stdout).toBe(`${JSON.stringify({ text: 'hello Ada', length: 9 }, null, 2)}\n`);
      expect(items).toMatchObject({ status: 0, stdout: `${JSON.stringify([{ id: 1 }, { id: 2 }], null, 2)}\n` });
    });

    it('sends several parameters as a JSON array, and a Date as its ISO text', async () => {
      const [join, at] = await Promise.all([
        run(['call', '/join', '[["a","b"],"-",2]', ...plugin(SAMPLE)]),
        run(['call', '/at', '"2024-02-29T12:00:00.000Z"', ...plugin(FIXTURE)]),
      ]);
      expect(join).toMatchObject({ status: 0, stdout: '"a-b-a-b"\n' });
      expect(at).toMatchObject({ status: 0, stdout: '"2024-02-29T12:00:00.000Z"\n' });
    });
  });

  describe('errors: the exit status tells them apart, stderr says it in one line', () => {
    it('validation 7, method not found 6, start failure 3, timeout 5, the method throwing 8', async () => {
      const outcomes = await Promise.all([
        run(['call', '/greet', '{"name":"","age":36}', ...plugin(SAMPLE)]).then((o) => labelled('validation', o)),
        run(['call', '/nope', 'null', ...plugin(SAMPLE)]).then((o) => labelled('not found', o)),
        run(['call', '/modify', '"x"', '--', process.execPath, '-e', 'process.exit(3)', MARKER]).then((o) => labelled('start', o)),
        run(['call', '/sleep', 'null', '--timeout', '4000', ...plugin(FIXTURE)]).then((o) => labelled('timeout', o)),
        run(['call', '/fail', '"it broke"', ...plugin(FIXTURE)]).then((o) => labelled('remote', o)),
        run(['call', '/fail', 'null', ...plugin(GO_PLUGIN)]).then((o) => labelled('go remote', o)),
        run(['call', '/nope', 'null', ...plugin(GO_PLUGIN)]).then((o) => labelled('go not found', o)),
      ]);
      const expected: Array<[number, RegExp]> = [
        [7, /^plugwire: PLUGWIRE_VALIDATION: invalid payload for \/greet: name: name must be longer than or equal to 1 characters\n$/],
        [6, /^plugwire: PLUGWIRE_METHOD_NOT_FOUND: method not found: \/nope\n$/],
        [3, /^plugwire: PLUGWIRE_START: plugin node exited before it was ready \(code 3\)\n$/],
        // One wording, whether the host's timer or the plugin's deadline answer came first.
        [5, /^plugwire: PLUGWIRE_TIMEOUT: call to \/sleep timed out after 4000 ms\n$/],
        // The plugin's own report of the throw (its stack) may come first, forwarded line by line.
        [8, /^(\[manifest-plugin\] [^\n]*\n)*plugwire: PLUGWIRE_REMOTE: it broke\n$/],
        [8, /^plugwire: PLUGWIRE_REMOTE: it failed\n$/],
        [6, /^plugwire: PLUGWIRE_METHOD_NOT_FOUND: method not found: \/nope\n$/],
      ];
      outcomes.forEach((outcome, i) => {
        const [status, stderr] = expected[i] as [number, RegExp];
        expect(outcome).toMatchObject({ label: outcome.label, status, stdout: '', stderr: expect.stringMatching(stderr) });
      });
      // The timeout (start and call; 4 s leaves room for a start on a busy machine) ends the run:
      // a command that waited for the plugin's 10 s would have printed its answer and exited 0.
      const timeout = outcomes[3] as Outcome;
      expect(timeout.elapsed).toBeGreaterThanOrEqual(3900);
    });

    it('usage errors exit 2 before any plugin starts', async () => {
      const cases: Array<[string, string[], RegExp]> = [
        ['no command after --', ['call', '/modify', '"x"', '--'], /^plugwire: no plugin: give its command after -- .*\n$/],
        ['no -- at all', ['inspect'], /^plugwire: no plugin: give its command after -- .*\n$/],
        ['--socket and a command', ['call', '/modify', '"x"', '--socket', '/tmp/pw-unused.sock', ...plugin(SAMPLE)], /^plugwire: give either --socket or a plugin command after --, not both\n$/],
        ['bad JSON', ['call', '/modify', '{bad', ...plugin(SAMPLE)], /^plugwire: the payload must be JSON, and \{bad is not \([^\n]+\); in single quotes the shell keeps the double quotes JSON needs, e\.g\. plugwire call \/modify '\{"name":"Ada"\}'\n$/],
        ['a bare word', ['call', '/rates', 'DE', ...plugin(SAMPLE)], /^plugwire: the payload must be JSON, and DE is not: for the string "DE" type plugwire call \/rates '"DE"'\n$/],
        ['route without /', ['call', 'modify', '"x"', ...plugin(SAMPLE)], /^plugwire: the route must start with '\/', got "modify"\n$/],
        ['unknown option', ['call', '/modify', '"x"', '--bogus', ...plugin(SAMPLE)], /^error: unknown option '--bogus'\n/],
        ['bad --timeout', ['call', '/modify', '"x"', '--timeout', 'soon', ...plugin(SAMPLE)], /^error: option '--timeout <ms>' argument 'soon' is invalid/],
        // Number() would read these as 0 (no timeout), 16 and 1000.
        ['an empty --timeout', ['call', '/modify', '"x"', '--timeout', '', ...plugin(SAMPLE)], /^error: option '--timeout <ms>' argument '' is invalid/],
        ['a hexadecimal --timeout', ['call', '/modify', '"x"', '--timeout', '0x10', ...plugin(SAMPLE)], /^error: option '--timeout <ms>' argument '0x10' is invalid/],
        ['an exponent --timeout', ['health', '--socket', '/tmp/pw-unused.sock', '--timeout', '1e3'], /^error: option '--timeout <ms>' argument '1e3' is invalid/],
        ['no route', ['call', ...plugin(SAMPLE)], /^error: missing required argument 'route'\n/],
        ['unknown command', ['frobnicate', ...plugin(SAMPLE)], /^error: unknown command 'frobnicate'\n/],
      ];
      const outcomes = await Promise.all(cases.map(([label, args]) => run(args).then((o) => labelled(label, o))));
      outcomes.forEach((outcome, i) => {
        const [label, , stderr] = cases[i] as [string, string[], RegExp];
        expect(outcome).toMatchObject({ label, status: 2, stdout: '', stderr: expect.stringMatching(stderr) });
        // The plugin never started, so nothing of it was forwarded.
        expect(outcome.stderr).not.toMatch(/^\[/m);
      });
      // plugwire's own usage errors are one line; commander's come with the usage after them.
      for (const outcome of outcomes.slice(0, 6)) expect(outcome.stderr).toMatch(ONE_LINE);
      expect(outcomes[6]?.stderr).toContain('Usage: plugwire call [options] <route> [json]');
    });

    it('bad JSON on standard input is a usage error too', async () => {
      const [word, broken] = await Promise.all([
        run(['call', '/modify', ...plugin(SAMPLE)], { stdin: 'not json\n' }),
        run(['call', '/modify', ...plugin(SAMPLE)], { stdin: '{"name":' }),
      ]);
      expect(word).toMatchObject({
        status: 2,
        stdout: '',
        stderr: 'plugwire: the payload on standard input must be JSON, and not json is not: for the string "not json" send "not json", with its double quotes\n',
      });
      expect(broken).toMatchObject({ status: 2, stdout: '', stderr: expect.stringMatching(/^plugwire: the payload on standard input must be JSON, and \{"name": is not \([^\n]+\)\n$/) });
    });

    it("a failed start names the plugin's stderr: forwarded above the one-line error, or after it with -q", async () => {
      const dir = tempDir();
      try {
        const script = path.join(dir, 'rates.js');
        writeFileSync(script, "require('plugwire-no-such-module');\n");
        const [loud, quiet] = await Promise.all([run(['call', '/rates', '"DE"', ...plugin(script)]), run(['call', '-q', '/rates', '"DE"', ...plugin(script)])]);
        expect(loud).toMatchObject({ status: 3, stdout: '' });
        expect(loud.stderr).toMatch(/^\[rates\] Error: Cannot find module 'plugwire-no-such-module'$/m);
        expect(loud.stderr).toMatch(/\nplugwire: PLUGWIRE_START: plugin rates exited before it was ready \(code 1\)\n$/);

        expect(quiet).toMatchObject({ status: 3, stdout: '' });
        expect(quiet.stderr).toMatch(/^plugwire: PLUGWIRE_START: plugin rates exited before it was ready \(code 1\)\n(the last 20 lines of )?its standard error[^\n]*:\n {2}/);
        expect(quiet.stderr).toMatch(/^ {2}Error: Cannot find module 'plugwire-no-such-module'$/m);
        expect(quiet.stderr).not.toMatch(/^\[/m);
      } finally {
        removeDir(dir);
      }
    });
  });

  describe('--socket: a plugin that already runs', () => {
    const TOKEN = 'cli-spec-token';
    let dir: string;
    let open: string;
    let guarded: string;
    const plugins: Spawned[] = [];

    beforeAll(async () => {
      dir = tempDir();
      open = path.join(dir, 'open.sock');
      guarded = path.join(dir, 'guarded.sock');
      plugins.push(spawnNode([SAMPLE], { PLUGIN_SOCKET: open }), spawnNode([SAMPLE], { PLUGIN_SOCKET: guarded, PLUGWIRE_TOKEN: TOKEN }));
      await Promise.all(plugins.map((p) => p.line(/^plugin is ready$/)));
    });

    afterAll(async () => {
      for (const p of plugins) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await Promise.all(plugins.map((p) => p.exited));
      removeDir(dir);
    });

    it('calls and inspects a plugin started without a token, and leaves it running', async () => {
      const [call, inspect] = await Promise.all([run(['call', '/modify', '"s"', '--socket', open]), run(['inspect', '--socket', open])]);
      expect(call).toMatchObject({ status: 0, stdout: '"s decorated"\n', stderr: '' });
      expect(inspect).toMatchObject({ status: 0, stderr: '' });
      expect(inspect.stdout).toMatch(/^\/greet\s+greet\s+Person\s+Greeting\s+yes$/m);
      expect(pidAlive(plugins[0]?.child.pid as number)).toBe(true);
      await expect(connectOutcome(open)).resolves.toBe('accepted');
    });

    it('calls and inspects a plugin started with PLUGWIRE_TOKEN given --token', async () => {
      const [call, json] = await Promise.all([
        run(['call', '/greet', '{"name":"Bo","age":3}', '--socket', guarded, '--token', TOKEN]),
        run(['inspect', '--json', '--socket', guarded, '--token', TOKEN]),
      ]);
      expect(call).toMatchObject({ status: 0, stderr: '' });
      expect(JSON.parse(call.stdout)).toEqual({ text: 'hello Bo', length: 8 });
      expect(json).toMatchObject({ status: 0, stderr: '' });
      expect(JSON.parse(json.stdout)).toMatchObject({ plugin: { name: 'modifier' } });
      expect(pidAlive(plugins[1]?.child.pid as number)).toBe(true);
    });

    // The same line as plugwire health's for the same refusal: it names the ways to give a token.
    const NO_TOKEN = 'no token was given (--token, --token-file, PLUGWIRE_TOKEN or PLUGWIRE_TOKEN_FILE)';
    const refusal = (reason: string): string => `plugwire: PLUGWIRE_PROTOCOL: the plugin on ${guarded} refused the request (401 unauthorized): ${reason}\n`;

    it('is refused without the token or with another one (protocol error, 9), saying how to give one as health does', async () => {
      const [none, wrong, health] = await Promise.all([
        run(['call', '/modify', '"s"', '--socket', guarded]).then((o) => labelled('no token', o)),
        run(['call', '/modify', '"s"', '--socket', guarded, '--token', 'wrong']).then((o) => labelled('wrong token', o)),
        run(['health', '--socket', guarded]).then((o) => labelled('health, no token', o)),
      ]);
      expect(none).toMatchObject({ label: 'no token', status: 9, stdout: '', stderr: refusal(NO_TOKEN) });
      expect(wrong).toMatchObject({ label: 'wrong token', status: 9, stdout: '', stderr: refusal('the token sent is not the one it expects') });
      expect(health).toMatchObject({ label: 'health, no token', status: 9, stdout: '', stderr: none.stderr });
      expect(pidAlive(plugins[1]?.child.pid as number)).toBe(true);
    });

    it('inspect, and a call read as a stream, without the token report the refusal and how to give a token, instead of "no manifest"', async () => {
      const [inspect, json, stream] = await Promise.all([
        run(['inspect', '--socket', guarded]).then((o) => labelled('inspect', o)),
        run(['inspect', '--json', '--socket', guarded]).then((o) => labelled('inspect --json', o)),
        run(['call', '--stream', '/modify', '"s"', '--socket', guarded]).then((o) => labelled('call --stream', o)),
      ]);
      for (const outcome of [inspect, json, stream]) {
        expect(outcome).toMatchObject({ label: outcome.label, status: 9, stdout: '', stderr: refusal(NO_TOKEN) });
      }
    });

    it('fails to start (3) where nothing listens', async () => {
      const nowhere = path.join(dir, 'nowhere.sock');
      const outcome = await run(['call', '/modify', '"s"', '--socket', nowhere]);
      expect(outcome).toMatchObject({ status: 3, stdout: '', stderr: `plugwire: PLUGWIRE_START: no plugin is listening on ${nowhere}\n` });
    });
  });

  describe("the plugin's own output", () => {
    const env = { MANIFEST_PRELUDE: 'prelude line' };

    it('goes to stderr, line by line with its name, never to stdout', async () => {
      const [call, inspect] = await Promise.all([run(['call', '/noisy', '"t"', ...plugin(FIXTURE)], { env }), run(['inspect', '--json', ...plugin(FIXTURE)], { env })]);
      expect(call.status).toBe(0);
      expect(call.stdout).toBe('"quiet t"\n');
      expect(call.stderr).toMatch(/^\[[^\]\n]+\] prelude line$/m);
      expect(call.stderr).toMatch(/^\[[^\]\n]+\] noisy stdout t$/m);
      expect(call.stderr).toMatch(/^\[[^\]\n]+\] noisy stderr t$/m);
      expect(call.stderr).not.toContain('plugin is ready');
      expect(inspect.status).toBe(0);
      expect(() => JSON.parse(inspect.stdout) as unknown).not.toThrow();
      expect(inspect.stderr).toMatch(/^\[[^\]\n]+\] prelude line\n$/);
    });

    it('is dropped with -q (and --quiet), errors are still reported', async () => {
      const [call, quiet, failing] = await Promise.all([
        run(['call', '-q', '/noisy', '"t"', ...plugin(FIXTURE)], { env }),
        run(['inspect', '--quiet', ...plugin(FIXTURE)], { env }),
        run(['call', '/fail', '"loud"', '-q', ...plugin(FIXTURE)], { env }),
      ]);
      expect(call).toMatchObject({ status: 0, stdout: '"quiet t"\n', stderr: '' });
      expect(quiet).toMatchObject({ status: 0, stderr: '' });
      expect(quiet.stdout.split('\n')[0]).toBe('plugin manifest-test, manifest-derived (protocol 1, plugwire extensions 1)');
      expect(failing).toMatchObject({ status: 8, stdout: '', stderr: 'plugwire: PLUGWIRE_REMOTE: loud\n' });
    });
  });
});
