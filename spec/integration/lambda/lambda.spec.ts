// samples/lambda run by the runtime interface client AWS ships for Node.js (the npm package
// aws-lambda-ric, with its native part built at install), against a Lambda Runtime API
// served here. The function's package is laid out as it would be zipped: handler.js,
// contract.js and plugin.js at the root, node_modules beside them with plugwire (the built
// one, copied) and what it needs. Node 20 runs the client's 3.x line (4.x needs Node 22);
// Node 22 and later run 4.x, the line of AWS's own Node.js 22 and 24 images.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { countLines, fixture, pidAlive, removeDir, tempDir, waitFor, waitForPidGone, within } from '../../support/host-helpers';
import { clientLine, installedClient } from '../../fixtures/lambda/client-install';
import { RuntimeApi, type Outcome } from './runtime-api';

const ROOT = path.join(__dirname, '../../..');
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const RIC = clientLine();

let dir: string;
let task: string;

beforeAll(() => {
  dir = tempDir();
  task = path.join(dir, 'task');
  mkdirSync(task);
  // The client's install, cached across runs (.ci/run makes it before the tests).
  cpSync(path.join(installedClient(RIC), 'node_modules'), path.join(task, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const plugwire = path.join(task, 'node_modules/plugwire');
  mkdirSync(plugwire, { recursive: true });
  copyFileSync(path.join(ROOT, 'package.json'), path.join(plugwire, 'package.json'));
  cpSync(path.join(ROOT, 'dist/lib'), path.join(plugwire, 'dist/lib'), { recursive: true });
  for (const file of ['handler.js', 'contract.js', 'plugin.js']) copyFileSync(path.join(ROOT, 'dist/samples/lambda', file), path.join(task, file));
}, 600_000);

afterAll(() => removeDir(dir));

/** The sample's answer. */
interface Shouted {
  readonly text: string;
  readonly pid: number;
  readonly restarts: number;
}

/** One execution environment: the runtime client, its plugin, and the Runtime API it polls. */
interface LambdaFunction {
  readonly api: RuntimeApi;
  /** The runtime client's process, the leader of the function's process group. */
  readonly runtime: ChildProcess;
  /** What the runtime client printed (its logs, the handler's, the plugin's). */
  readonly output: () => string;
  /** Invokes the function and expects an answer. */
  readonly answer: (event: object, timeoutMs?: number) => Promise<Shouted>;
  /** Every plugin pid seen in an answer. */
  readonly pluginPids: Set<number>;
}

const running: Array<{ fn: LambdaFunction; tmp: string }> = [];

async function startFunction(env: NodeJS.ProcessEnv = {}): Promise<LambdaFunction> {
  const api = new RuntimeApi();
  const endpoint = await api.listen();
  // plugwire's socket directories (and Node's compile cache) go into this environment's
  // own /tmp, as on Lambda, and are removed with it.
  const tmp = path.join(dir, `tmp-${running.length}`);
  mkdirSync(tmp);
  const client = path.join(task, 'node_modules/aws-lambda-ric');
  // 3.x takes the handler as its argument and the function's directory from its working
  // directory; 4.x reads both from the environment, as AWS's images set it.
  const args = RIC === 'ric4' ? [path.join(client, 'index.mjs')] : [path.join(client, 'bin/index.mjs'), 'handler.handler'];
  const runtime = spawn(process.execPath, args, {
    cwd: task,
    detached: true, // its own process group, which the plugin joins: what the tests freeze
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AWS_LAMBDA_RUNTIME_API: endpoint,
      LAMBDA_TASK_ROOT: task,
      _HANDLER: 'handler.handler',
      AWS_LAMBDA_FUNCTION_NAME: 'shouter',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/shouter',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/06/[$LATEST]0123456789abcdef',
      TMPDIR: tmp,
      ...env,
    },
  });
  let output = '';
  runtime.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
  runtime.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
  runtime.once('exit', (code, signal) => api.breakOff(new Error(`the runtime client ended (${signal ?? code}); it printed:\n${output}`)));
  const pluginPids = new Set<number>();
  const answer = async (event: object, timeoutMs = 10_000): Promise<Shouted> => {
    const outcome = await within(api.invoke(event, timeoutMs), timeoutMs + 5000, `an answer to ${JSON.stringify(event)}`);
    if (outcome.kind !== 'response') throw new Error(`the invocation failed: ${JSON.stringify(outcome.body)}; the function printed:\n${output}`);
    const shouted = outcome.body as Shouted;
    pluginPids.add(shouted.pid);
    return shouted;
  };
  const fn: LambdaFunction = { api, runtime, output: () => output, answer, pluginPids };
  running.push({ fn, tmp });
  return fn;
}

/** The process group of a pid, from /proc/<pid>/stat (the fifth field). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** The state letter of a pid (R, S, T for stopped, ...). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

afterEach(async () => {
  for (const { fn, tmp } of running.splice(0)) {
    const { runtime } = fn;
    if (runtime.pid !== undefined && runtime.exitCode === null && runtime.signalCode === null) {
      const exited = new Promise((resolve) => runtime.once('exit', resolve));
      // The whole group, stopped or not, as Lambda ends an environment.
      try {
        process.kill(-runtime.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await exited;
    }
    for (const pid of fn.pluginPids) await waitForPidGone(pid);
    await fn.api.close();
    removeDir(tmp);
  }
});

function expectError(outcome: Outcome): { errorType: string; errorMessage: string; at: number } {
  if (outcome.kind !== 'error') throw new Error(`expected an invocation error, got ${JSON.stringify(outcome.body)}`);
  return { ...outcome.body, at: outcome.at };
}

describe(`samples/lambda under AWS's runtime interface client (aws-lambda-ric ${RIC === 'ric4' ? '4.x' : '3.x'}, Node ${NODE_MAJOR})`, () => {
  it('the client\'s native part calls Node only through Node-API, so it loads in the Node it was built with whatever headers node-gyp found', () => {
    const addon = [path.join(task, 'node_modules/aws-lambda-ric/rapid-client.node'), path.join(task, 'node_modules/aws-lambda-ric/dist/rapid-client.node')]
      .find((file) => { try { readFileSync(file); return true; } catch { return false; } });
    expect(addon).toBeDefined();
    const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', addon as string], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/).pop() ?? '')
      .filter((name) => name !== '' && !/@/.test(name) && !/^(_ITM_|__gmon_start__|_Jv_)/.test(name));
    expect(undefinedSymbols.length).toBeGreaterThan(0);
    expect(undefinedSymbols.filter((name) => !name.startsWith('napi_'))).toEqual([]);
  });

  it('answers 50 invocations from one plugin process, started at the first, in the function\'s process group', async () => {
    const fn = await startFunction();
    const first = await fn.answer({ text: 'call 0' });
    expect(first).toEqual({ text: 'CALL 0!', pid: first.pid, restarts: 0 });
    // The plugin is the runtime's child, in its process group: frozen and ended with it.
    expect(processGroup(first.pid)).toBe(fn.runtime.pid);
    for (let i = 1; i < 50; i += 1) {
      await expect(fn.answer({ text: `call ${i}` })).resolves.toEqual({ text: `CALL ${i}!`, pid: first.pid, restarts: 0 });
    }
    await within(fn.api.idle(), 5000, 'the runtime client to ask for the next invocation');
    expect(fn.api.nextRequests).toBe(51);
    expect(fn.output()).not.toMatch(/Invoke Error|Unhandled/);
  }, 60_000);

  it.each([1_000, 10_000])('keeps its plugin through a freeze of the whole environment for %i ms between invocations', async (freezeMs) => {
    const fn = await startFunction();
    const before = await fn.answer({ text: 'before' });
    await within(fn.api.idle(), 5000, 'the runtime client to ask for the next invocation');
    const group = fn.runtime.pid as number;
    process.kill(-group, 'SIGSTOP');
    await waitFor(() => processState(group) === 'T' && processState(before.pid) === 'T', 5000, 'the runtime and the plugin to stop');
    await sleep(freezeMs); // the freeze is the scenario
    process.kill(-group, 'SIGCONT');
    // Lambda thaws the environment to hand it the next invocation: no pause in between.
    await expect(fn.answer({ text: 'after' })).resolves.toEqual({ text: 'AFTER!', pid: before.pid, restarts: 0 });
    await expect(fn.answer({ text: 'again' })).resolves.toEqual({ text: 'AGAIN!', pid: before.pid, restarts: 0 });
    expect(pidAlive(before.pid)).toBe(true);
  }, 40_000);

  it('restarts a plugin killed between invocations, at the next invocation', async () => {
    const fn = await startFunction();
    const before = await fn.answer({ text: 'before' });
    await within(fn.api.idle(), 5000, 'the runtime client to ask for the next invocation');
    process.kill(before.pid, 'SIGKILL');
    await waitForPidGone(before.pid);
    const after = await fn.answer({ text: 'after' });
    expect(after).toEqual({ text: 'AFTER!', pid: after.pid, restarts: 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(processGroup(after.pid)).toBe(fn.runtime.pid);
    await expect(fn.answer({ text: 'again' })).resolves.toEqual({ text: 'AGAIN!', pid: after.pid, restarts: 1 });
  }, 30_000);

  it('reports PLUGWIRE_TIMEOUT before the deadline when the plugin\'s work outlasts the invocation, and answers the next one', async () => {
    const fn = await startFunction();
    const warm = await fn.answer({ text: 'warm' });
    const late = expectError(await within(fn.api.invoke({ text: 'slow', workMs: 5000 }, 1500), 5000, 'the slow invocation'));
    expect(late.errorType).toBe('PLUGWIRE_TIMEOUT');
    expect(late.errorMessage).toMatch(/^call to \/shout timed out after \d+ ms$/);
    // Reported before Lambda's deadline, not by it.
    expect(late.at).toBeLessThan(fn.api.lastDeadline);
    // An invocation with less time left than the margin fails at once, without a call.
    const spent = expectError(await within(fn.api.invoke({ text: 'spent' }, 100), 5000, 'the invocation without time'));
    expect(spent.errorType).toBe('PLUGWIRE_TIMEOUT');
    expect(spent.errorMessage).toMatch(/^no time left for a plugin call: \d+ ms remain before the deadline and 250 ms are kept back/);
    await expect(fn.answer({ text: 'next' })).resolves.toEqual({ text: 'NEXT!', pid: warm.pid, restarts: 0 });
  }, 30_000);

  it('reports PLUGWIRE_START when the plugin cannot start, and the next invocation starts it again', async () => {
    const marker = path.join(dir, 'flaky-starts');
    const fn = await startFunction({ SHOUTER_PLUGIN: fixture('lambda/flaky-plugin'), FLAKY_MARKER: marker });
    const failed = expectError(await within(fn.api.invoke({ text: 'first' }), 15_000, 'the first invocation'));
    expect(failed.errorType).toBe('PLUGWIRE_START');
    expect(failed.errorMessage).toContain('cannot load the model on the first start');
    expect(countLines(marker)).toBe(1);
    const second = await fn.answer({ text: 'second' });
    expect(second).toEqual({ text: 'SECOND!', pid: second.pid, restarts: 0 });
    expect(countLines(marker)).toBe(2);
    await expect(fn.answer({ text: 'third' })).resolves.toEqual({ text: 'THIRD!', pid: second.pid, restarts: 0 });
    expect(countLines(marker)).toBe(2);
  }, 40_000);

  it('reports PLUGWIRE_START at each invocation while the plugin is missing, never hanging', async () => {
    const fn = await startFunction({ SHOUTER_PLUGIN: path.join(dir, 'no-such-plugin.js') });
    for (const text of ['one', 'two']) {
      const failed = expectError(await within(fn.api.invoke({ text }), 15_000, `the invocation ${text}`));
      expect(failed.errorType).toBe('PLUGWIRE_START');
      expect(failed.errorMessage).toContain('no-such-plugin.js');
    }
    expect(fn.api.initErrors).toEqual([]);
  }, 40_000);
});
