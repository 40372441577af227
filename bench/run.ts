// The benchmark of issue 4: plugwire against the floor (a bare node:http server and an
// undici client carrying the same JSON body) and against @grpc/grpc-js, every server a
// process of its own on a Unix socket in a fresh temporary directory, this process the
// host. Scenarios: sequential latency, throughput at 1, 16 and 64 callers, payload sizes,
// a validated ten-field DTO, streamed items (issue 14: against the same items as NDJSON
// over node:http, and fetched with one call each), host services (issue 14: a call from
// inside a plugin method to its host against the host's call of the plugin, same body),
// cold start, restart after kill -9, memory, many plugins (issue 16: 1, 5 and 20
// plugwire plugins started at once: start time, memory, calls/s), and plugin pools (issue
// 16: one CPU-bound plugin with 1, 2 and 4 instances, 16 callers: calls/s). Each figure is
// measured in several rounds (contenders interleaved, their order rotated each round);
// the table shows medians, the min–max of the rounds, and the ratio to the floor of the
// same round. Compare only figures of one run: the machine is noisy.
//
//   npm run build && node dist/bench/run.js [--quick] [--only scenario,...] [--json path]
//
// Exit code 0 when every figure was measured (targets missed included); 1 when a run
// failed; 2 for bad arguments.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { serverNodeArgs, type Contender, type ContenderName, type Session, type Workload } from './contenders/contender';
import { floorContender, type FloorApi, type FloorWrites } from './contenders/floor';
import { grpcJs } from './contenders/grpc';
import { plugwire } from './contenders/plugwire';
import { plugwireDto } from './contenders/plugwire-dto';
import { SERVICES_DESCRIPTIONS, startServices, type ServicesSession } from './contenders/plugwire-services';
import { plugwireCalls, plugwireStream, StreamsMissing } from './contenders/plugwire-stream';
import { cpuProbe, gc, itemRate, latencyOf, pinMainThread, rssOf, rssSampler, sequential, summarize, throughput, type Call } from './measure';
import { drawSvg, evaluateTargets, formatResults, formatTargets, metric, record, resultsOf, type Metric } from './report';
import { PAYLOAD_SIZES, SERVICE_BODIES, STREAM_ITEMS, echoPayload, orderAnswer, orderFields, streamItem, type PayloadSize, type ServiceBodyName } from './workloads';
import { parseArgsOrUsage, runCli, UsageError } from './cli';
import { drawManySvg, formatMany, MANY_CALLERS, MANY_COUNTS, runManyPlugins, type ManyRow } from './many-plugins';
import { drawPoolsSvg, formatPools, runPools, type PoolsResult } from './pools';

const DEFAULT_JSON = path.join(__dirname, '../../bench/results/bench.json');
const SCENARIOS = ['sequential', 'throughput', 'payload', 'dto', 'stream', 'services', 'cold-start', 'restart', 'memory', 'many', 'pools'] as const;
type Scenario = (typeof SCENARIOS)[number];
const ORDER: readonly ContenderName[] = ['floor', 'plugwire', 'plugwire-dto', 'grpc', 'plugwire-stream', 'plugwire-calls', 'plugwire-host'];
/** Callers of the services scenario's throughput rows. */
const SERVICE_CALLERS = 16;
/** Slices of each round of the services scenario's sequential calls, the two sides alternating. */
const SERVICE_SLICES = 10;
/** Callers of plugwire-calls in the stream scenario: its best throughput of calls. */
const ITEM_CALLERS = 16;
const LEVELS = [1, 16, 64] as const;

const USAGE = `Usage: node dist/bench/run.js [--quick] [--only scenario,...] [--json path]
         [--contenders name,...] [--rounds N] [--floor dispatch|request]
         [--stream-floor each|joined] [--no-pin] [--server-cpu-prof dir]

Measures plugwire against the floor (bare node:http + undici, same JSON body) and
@grpc/grpc-js, each server a separate process on a Unix socket, and prints a table of
medians with ratios to the floor, and the targets of issues 4, 14 and 16. The stream
scenario counts items per second: the floor's NDJSON, plugwire-stream's stream method,
plugwire-calls's one call per item (${ITEM_CALLERS} callers). The services scenario
sends the same bodies between one host and one plugin both ways: plugwire, the host's
call of the plugin (its baseline), and plugwire-host, the plugin's call of a host
service from inside a method the host called, timed in the plugin; it needs both.
The pools scenario connects one CPU-bound plugin (about 2 ms of CPU a call, calibrated
in this process) with instances 1, 2 and 4 and counts calls/s at 16 callers, unpinned.

  --quick              fewer rounds and shorter measurements (under a minute)
  --only s,...         scenarios to run (default all): ${SCENARIOS.join(', ')}
  --contenders c,...   contenders to run (default all): ${ORDER.join(', ')};
                       without floor there are no ratios
  --rounds N           rounds of each call scenario (default 7, quick 2; 1 to 50)
                       and of the pools scenario (default 5, quick 2)
  --floor api          the floor's client: dispatch (default, the tightest: undici
                       dispatch() with a body-collecting handler; streams: a
                       handler that parses the lines as chunks arrive) or request
                       (request() + body.text(); streams: for await over the body)
  --stream-floor w     how the floor's server writes a stream's lines: each (default:
                       one res.write() per line) or joined (one per 16 KB of lines)
  --server-cpu-prof d  run every server process with node --cpu-prof, profiles to
                       directory d (profile the host with node --cpu-prof itself)
  --no-pin             do not pin the main threads during the call scenarios (by
                       default the host's runs on CPU 0 and every server's on CPU 1,
                       with taskset: a host and a server that happen to share a CPU
                       answer about 3 times faster, which makes rounds bimodal; the
                       many and pools scenarios always run unpinned)
  --json path          where to write the figures (default bench/results/bench.json);
                       the chart goes next to it, with the extension .svg (many
                       plugins: -many.svg, pools: -pools.svg)
  -h, --help           show this help

Exit code: 0 when every figure was measured (whether or not the targets are met);
1 when the run failed; 2 for bad arguments.`;

// ---------------------------------------------------------------------------------
// Arguments

interface Options {
  readonly quick: boolean;
  readonly only: ReadonlySet<Scenario>;
  readonly contenders: ReadonlySet<ContenderName>;
  readonly rounds: number | undefined;
  readonly floor: FloorApi;
  readonly streamFloor: FloorWrites;
  readonly pin: boolean;
  readonly serverProfiles: string | undefined;
  readonly json: string;
}


function listOption<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): ReadonlySet<T> {
  if (raw === undefined) return new Set(allowed);
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new UsageError(`--${name} takes a comma-separated list of ${allowed.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return new Set(items as T[]);
}

function parseOptions(args: readonly string[]): Options | 'help' {
  const values = parseArgsOrUsage(args, {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    contenders: { type: 'string' },
    rounds: { type: 'string' },
    floor: { type: 'string' },
    'stream-floor': { type: 'string' },
    'no-pin': { type: 'boolean' },
    'server-cpu-prof': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const);
  if (values.help) return 'help';
  let rounds: number | undefined;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!/^\d+$/.test(values.rounds) || rounds < 1 || rounds > 50) throw new UsageError(`--rounds must be an integer from 1 to 50, got ${JSON.stringify(values.rounds)}`);
  }
  if (values.floor !== undefined && values.floor !== 'dispatch' && values.floor !== 'request') {
    throw new UsageError(`--floor must be dispatch or request, got ${JSON.stringify(values.floor)}`);
  }
  const streamFloor = values['stream-floor'];
  if (streamFloor !== undefined && streamFloor !== 'each' && streamFloor !== 'joined') {
    throw new UsageError(`--stream-floor must be each or joined, got ${JSON.stringify(streamFloor)}`);
  }
  return {
    quick: values.quick ?? false,
    floor: values.floor ?? 'dispatch',
    streamFloor: streamFloor ?? 'each',
    pin: !(values['no-pin'] ?? false),
    serverProfiles: values['server-cpu-prof'] === undefined || values['server-cpu-prof'] === '' ? undefined : path.resolve(values['server-cpu-prof']),
    only: listOption('only', values.only, SCENARIOS),
    contenders: listOption('contenders', values.contenders, ORDER),
    rounds,
    json: values.json === undefined ? DEFAULT_JSON : path.resolve(values.json),
  };
}

// ---------------------------------------------------------------------------------
// How much to measure

interface Plan {
  /** Rounds of every call scenario (latency, throughput, payload, DTO, stream). */
  readonly rounds: number;
  /** Timed sequential calls per round (100 B and the DTO), and untimed ones before them. */
  readonly seqCalls: number;
  readonly seqWarm: number;
  /** Sequential calls per round for the larger payloads. */
  readonly payloadCalls: Readonly<Record<Exclude<PayloadSize, '100 B'>, number>>;
  /** Throughput: uncounted ramp, then the counted window, ms (streams: whole streams until the window has passed). */
  readonly rampMs: number;
  readonly windowMs: number;
  /** Warm-up of each started contender and workload: sequential calls, then ms at 16 callers. */
  readonly warmCalls: number;
  readonly warmMs: number;
  readonly coldSamples: number;
  readonly restartSamples: number;
  /** Measured rounds of the memory scenario (after one unrecorded round), plugins started in each. */
  readonly memoryRounds: number;
  readonly memoryPlugins: number;
  /** How long the plugin is loaded while its resident set is sampled, ms. */
  readonly loadMs: number;
  /** Rounds of the many-plugins scenario for each number of plugins, and its throughput window, ms. */
  readonly manyRounds: number;
  readonly manyWindowMs: number;
  /** Rounds of the pools scenario (each measures every pool size), its throughput window and the warm-up of each pool, ms. */
  readonly poolsRounds: number;
  readonly poolsWindowMs: number;
  readonly poolsWarmMs: number;
}

const FULL: Plan = {
  rounds: 7,
  seqCalls: 3000,
  seqWarm: 200,
  payloadCalls: { '10 KB': 1000, '1 MB': 30 },
  rampMs: 250,
  windowMs: 1500,
  warmCalls: 2000,
  warmMs: 1000,
  coldSamples: 10,
  restartSamples: 10,
  memoryRounds: 3,
  memoryPlugins: 10,
  loadMs: 1000,
  manyRounds: 5,
  manyWindowMs: 2000,
  poolsRounds: 5,
  poolsWindowMs: 2000,
  poolsWarmMs: 3000,
};

const QUICK: Plan = {
  rounds: 2,
  seqCalls: 1000,
  seqWarm: 100,
  payloadCalls: { '10 KB': 300, '1 MB': 8 },
  rampMs: 100,
  windowMs: 400,
  warmCalls: 500,
  warmMs: 300,
  coldSamples: 3,
  restartSamples: 3,
  memoryRounds: 1,
  memoryPlugins: 4,
  loadMs: 400,
  manyRounds: 1,
  manyWindowMs: 500,
  poolsRounds: 2,
  poolsWindowMs: 600,
  poolsWarmMs: 1000,
};

// ---------------------------------------------------------------------------------
// Helpers

const began = performance.now();

function progress(text: string): void {
  console.log(`[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${text}`);
}

/** The list rotated by `n`: each round starts with another contender. */
function rotate<T>(list: readonly T[], n: number): T[] {
  if (list.length === 0) return [];
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

const expected = new WeakMap<Workload, string>();

/** Makes one call and checks its answer against what the workload must answer (streams and items check themselves). */
async function checkedCall(call: Call, workload: Workload, who: string): Promise<void> {
  if (workload.kind === 'stream' || workload.kind === 'item') throw new Error(`checkedCall() is for echo and order calls, not ${workload.kind}`);
  let want = expected.get(workload);
  if (want === undefined) {
    want = JSON.stringify(workload.kind === 'echo' ? workload.payload : orderAnswer(workload.order));
    expected.set(workload, want);
  }
  const answer = JSON.stringify(await call());
  if (answer !== want) {
    throw new Error(`${who}: wrong answer to ${workload.kind}: expected ${want.slice(0, 120)}… (${want.length} chars), got ${String(answer).slice(0, 120)}… (${String(answer).length} chars)`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------
// The run

async function run(options: Options): Promise<number> {
  const startedAt = new Date();
  if (options.serverProfiles !== undefined) {
    mkdirSync(options.serverProfiles, { recursive: true });
    serverNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.serverProfiles}`);
  }
  const plan: Plan = { ...(options.quick ? QUICK : FULL), ...(options.rounds === undefined ? {} : { rounds: options.rounds }) };
  const all: readonly Contender[] = [floorContender(options.floor, options.streamFloor), plugwire, plugwireDto, grpcJs, plugwireStream, plugwireCalls];
  const selected = all.filter((c) => options.contenders.has(c.name));
  // Until the host side of streamed results lands, the stream scenario runs without plugwire-stream (its start says why).
  let missing: string | undefined;
  const can = (kind: Workload['kind']): Contender[] => selected.filter((c) => c.workloads.has(kind));
  const only = options.only;

  const payloads = {} as Record<PayloadSize, Workload>;
  for (const size of Object.keys(PAYLOAD_SIZES) as PayloadSize[]) payloads[size] = { kind: 'echo', payload: echoPayload(PAYLOAD_SIZES[size]) };
  const small = payloads['100 B'];
  const order: Workload = { kind: 'order', order: orderFields() };
  const sizeOf = (w: Workload): number => Buffer.byteLength(JSON.stringify(w.kind === 'echo' ? w.payload : w.kind === 'order' ? w.order : null));
  const streamW: Workload = { kind: 'stream', count: STREAM_ITEMS };
  const itemW: Workload = { kind: 'item' };
  const itemBytes = Buffer.byteLength(JSON.stringify(streamItem(STREAM_ITEMS - 1)));

  const cpu = cpus();
  const machine = {
    cpus: cpu.length,
    model: cpu[0]?.model ?? 'unknown',
    memory: mib(totalmem()),
    node: process.version,
    platform: `${process.platform} ${release()}`,
    loadavg: loadavg().map((v) => Number(v.toFixed(2))),
  };
  console.log(`bench: ${options.quick ? 'quick' : 'full'} run, ${plan.rounds} rounds; scenarios ${[...only].join(', ')}; contenders ${selected.map((c) => c.name).join(', ')}`);
  console.log(`bench: ${machine.cpus} × ${machine.model}, ${machine.memory}, Node ${machine.node}, ${machine.platform}, load ${machine.loadavg.join(' ')}`);
  console.log(
    `bench: payloads ${(Object.keys(payloads) as PayloadSize[]).map((s) => `${s} = ${sizeOf(payloads[s])} B`).join(', ')}; order ${sizeOf(order)} B of JSON, answer: its id`,
  );
  if (only.has('stream')) {
    console.log(`bench: streams of ${STREAM_ITEMS} items of about ${itemBytes} B of JSON each; the floor's server writes ${options.streamFloor === 'joined' ? 'its lines joined, one res.write() per 16 KB' : 'one res.write() per line'}`);
  }

  const serviceBytes = Object.fromEntries((Object.keys(SERVICE_BODIES) as ServiceBodyName[]).map((n) => [n, Buffer.byteLength(JSON.stringify(SERVICE_BODIES[n]))]));
  if (only.has('services')) {
    console.log(`bench: host services: bodies ${Object.entries(serviceBytes).map(([n, b]) => `${n} = ${b} B of JSON`).join(', ')}, echoed both ways; ${SERVICE_CALLERS} callers for throughput`);
  }

  const metrics: Metric[] = [];
  const add = (m: Metric): Metric => {
    metrics.push(m);
    return m;
  };
  const sessions = new Map<ContenderName, Session>();
  const callers = new Map<string, Call>();
  /** The call of a long-running session, made once per contender, workload and caller count. */
  const callOf = (c: Contender, w: Workload, n = 1): Call => {
    const session = sessions.get(c.name);
    if (!session) throw new Error(`${c.name} is not started`);
    const key = `${c.name}|${w.kind}|${w.kind === 'echo' ? w.payload.items.length : w.kind === 'stream' ? w.count : 0}|${n}`;
    let call = callers.get(key);
    if (!call) {
      call = session.caller(w, n);
      callers.set(key, call);
    }
    return call;
  };

  let pinned = false;
  const servicesRun = only.has('services') && options.contenders.has('plugwire') && options.contenders.has('plugwire-host');
  let services: ServicesSession | undefined;
  let many: ManyRow[] | undefined;
  let pools: PoolsResult | undefined;
  try {
    // The long-running sessions of the call scenarios, warmed up.
    const echoRuns = only.has('sequential') || only.has('throughput') || only.has('payload');
    const streamRuns = (c: Contender): boolean => only.has('stream') && (c.workloads.has('stream') || c.workloads.has('item'));
    const needed = selected.filter((c) => (echoRuns && c.workloads.has('echo')) || (only.has('dto') && c.workloads.has('order')) || streamRuns(c));
    for (const c of needed) {
      try {
        sessions.set(c.name, await c.start());
      } catch (error) {
        if (!(error instanceof StreamsMissing)) throw error;
        missing = error.message;
        progress(`note: the stream scenario runs without plugwire-stream: ${missing}`);
      }
    }
    if (servicesRun) services = await startServices();
    // Pinned main threads (host on CPU 0, servers on CPU 1): see --no-pin. Started
    // unpinned, since a child inherits the affinity of the thread that spawns it.
    const cpuCount = cpus().length;
    const serverPids = [...sessions.values(), ...(services ? [services] : [])].map((s) => s.pid);
    if (serverPids.length > 0 && options.pin && cpuCount >= 2) {
      const ok = serverPids.every((pid) => pinMainThread(pid, '1')) && pinMainThread(process.pid, '0');
      pinned = ok;
      if (!ok) {
        pinMainThread(process.pid, `0-${cpuCount - 1}`);
        for (const pid of serverPids) pinMainThread(pid, `0-${cpuCount - 1}`);
      }
      progress(ok ? 'main threads pinned: host on CPU 0, servers on CPU 1' : 'note: could not pin the main threads (taskset missing?): running unpinned');
    }
    for (const c of needed.filter((n) => sessions.has(n.name))) {
      const uses: Workload[] = [];
      if (echoRuns && c.workloads.has('echo')) uses.push(small);
      if (only.has('payload') && c.workloads.has('echo')) uses.push(payloads['10 KB'], payloads['1 MB']);
      if (only.has('dto') && c.workloads.has('order')) uses.push(order);
      if (streamRuns(c) && c.workloads.has('stream')) {
        // Each stream checks its items and their count as it reads them.
        for (let i = 0; i < 3; i++) await callOf(c, streamW)();
      }
      if (streamRuns(c) && c.workloads.has('item')) {
        await sequential(callOf(c, itemW), plan.warmCalls, 0);
        await throughput(callOf(c, itemW, ITEM_CALLERS), ITEM_CALLERS, 0, plan.warmMs);
      }
      for (const w of uses) {
        const big = w.kind === 'echo' && sizeOf(w) > 100_000;
        await checkedCall(callOf(c, w), w, c.name);
        await sequential(callOf(c, w), big ? 5 : plan.warmCalls, 0);
        // Concurrent callers only where a scenario has them (a profile of the sequential scenario stays clean).
        const concurrent = w === small ? only.has('throughput') : w === order;
        if (concurrent && !big) {
          await checkedCall(callOf(c, w, 16), w, c.name);
          await throughput(callOf(c, w, 16), 16, 0, plan.warmMs);
        }
      }
      progress(`${c.name}: started (pid ${sessions.get(c.name)?.pid}) and warmed up`);
    }
    if (services) {
      for (const name of Object.keys(SERVICE_BODIES) as ServiceBodyName[]) {
        const body = SERVICE_BODIES[name];
        const call = services.toPlugin(body);
        const answer = JSON.stringify(await call());
        if (answer !== JSON.stringify(body)) throw new Error(`plugwire: the services plugin echoed ${answer.slice(0, 120)} for the ${name} body`);
        await sequential(call, plan.warmCalls, 0);
        await throughput(call, SERVICE_CALLERS, 0, plan.warmMs);
        // The plugin checks the host's first answer of every run itself.
        await services.sequentialFromPlugin(body, plan.warmCalls, 0);
        await services.throughputFromPlugin(body, SERVICE_CALLERS, 0, plan.warmMs);
      }
      progress(`plugwire-host: plugin with a host service started (pid ${services.pid}) and warmed up both ways`);
    }

    if (only.has('sequential')) {
      const p50 = add(metric('sequential.p50', 'sequential', 'sequential, 100 B: p50 latency', 'ms', 'lower'));
      const p99 = add(metric('sequential.p99', 'sequential', 'sequential, 100 B: p99 latency', 'ms', 'lower'));
      const list = can('echo');
      for (let r = 0; r < plan.rounds; r++) {
        for (const c of rotate(list, r)) {
          const lat = latencyOf(await sequential(callOf(c, small), plan.seqCalls, plan.seqWarm));
          record(p50, c.name, r, lat.p50);
          record(p99, c.name, r, lat.p99);
        }
      }
      progress(`sequential: ${plan.rounds} rounds × ${plan.seqCalls} calls`);
    }

    if (only.has('throughput')) {
      const per = new Map(LEVELS.map((n) => [n, add(metric(`throughput.${n}`, 'throughput', `throughput, 100 B, ${n} caller${n === 1 ? '' : 's'}`, 'calls/s', 'higher'))]));
      // Where a saturated call's time goes: CPU per call of each side at 16 callers.
      const hostCpu = add(metric('cpu.host.16', 'throughput', 'host CPU per call, 16 callers', 'ms', 'lower'));
      const serverCpu = add(metric('cpu.server.16', 'throughput', 'plugin (server) CPU per call, 16 callers', 'ms', 'lower'));
      const list = can('echo');
      for (let r = 0; r < plan.rounds; r++) {
        for (const n of LEVELS) {
          for (const c of rotate(list, r)) {
            const probe = n === 16 ? cpuProbe(sessions.get(c.name)?.pid) : undefined;
            record(per.get(n) as Metric, c.name, r, await throughput(callOf(c, small, n), n, plan.rampMs, plan.windowMs, probe));
            if (probe) {
              record(hostCpu, c.name, r, probe.result.host);
              record(serverCpu, c.name, r, probe.result.server);
            }
          }
        }
      }
      progress(`throughput: ${plan.rounds} rounds × ${LEVELS.join('/')} callers × ${plan.windowMs} ms`);
    }

    if (only.has('payload')) {
      const sizes = ['10 KB', '1 MB'] as const;
      const per = new Map(sizes.map((s) => [s, add(metric(`payload.${s.replace(' ', '')}.p50`, 'payload', `sequential, ${s}: p50 latency`, 'ms', 'lower'))]));
      const list = can('echo');
      for (let r = 0; r < plan.rounds; r++) {
        for (const s of sizes) {
          for (const c of rotate(list, r)) {
            const count = plan.payloadCalls[s];
            const lat = latencyOf(await sequential(callOf(c, payloads[s]), count, Math.max(2, Math.round(count / 20))));
            record(per.get(s) as Metric, c.name, r, lat.p50);
          }
        }
      }
      progress(`payload: ${plan.rounds} rounds × (${plan.payloadCalls['10 KB']} × 10 KB, ${plan.payloadCalls['1 MB']} × 1 MB)`);
    }

    if (only.has('dto')) {
      const base = { contender: 'floor' as const, label: 'floor (same ten-field body)' };
      const p50 = add(metric('dto.p50', 'dto', 'ten-field DTO, sequential: p50 latency', 'ms', 'lower', base));
      const p99 = add(metric('dto.p99', 'dto', 'ten-field DTO, sequential: p99 latency', 'ms', 'lower', base));
      const t16 = add(metric('dto.throughput.16', 'dto', 'ten-field DTO, throughput, 16 callers', 'calls/s', 'higher', base));
      const list = can('order');
      for (let r = 0; r < plan.rounds; r++) {
        for (const c of rotate(list, r)) {
          const lat = latencyOf(await sequential(callOf(c, order), plan.seqCalls, plan.seqWarm));
          record(p50, c.name, r, lat.p50);
          record(p99, c.name, r, lat.p99);
        }
        for (const c of rotate(list, r)) record(t16, c.name, r, await throughput(callOf(c, order, 16), 16, plan.rampMs, plan.windowMs));
      }
      progress(`dto: ${plan.rounds} rounds × (${plan.seqCalls} calls, ${plan.windowMs} ms at 16 callers)`);
    }

    if (only.has('stream')) {
      const rate = add(metric('stream', 'stream', `stream of ${STREAM_ITEMS} items (~${itemBytes} B): items per second`, 'items/s', 'higher', { contender: 'floor', label: 'floor (NDJSON over node:http)' }));
      // Where an item's time goes: CPU per item of each side.
      const hostCpu = add(metric('stream.cpu.host', 'stream', 'stream: host CPU per item', 'ms', 'lower'));
      const serverCpu = add(metric('stream.cpu.server', 'stream', 'stream: plugin (server) CPU per item', 'ms', 'lower'));
      const list = selected.filter((c) => (c.workloads.has('stream') || c.workloads.has('item')) && sessions.has(c.name));
      for (let r = 0; r < plan.rounds; r++) {
        for (const c of rotate(list, r)) {
          const probe = cpuProbe(sessions.get(c.name)?.pid);
          const value = c.workloads.has('stream')
            ? await itemRate(callOf(c, streamW), plan.windowMs, probe)
            : await throughput(callOf(c, itemW, ITEM_CALLERS), ITEM_CALLERS, plan.rampMs, plan.windowMs, probe);
          record(rate, c.name, r, value);
          record(hostCpu, c.name, r, probe.result.host);
          record(serverCpu, c.name, r, probe.result.server);
        }
      }
      progress(`stream: ${plan.rounds} rounds × ${plan.windowMs} ms each${missing === undefined ? '' : ' (without plugwire-stream: see the note above)'}`);
    }

    if (services) {
      // The same body both ways between the same two processes: the host calls the
      // plugin (plugwire, the baseline), the plugin calls the host from inside a method
      // the host called (plugwire-host, timed in the plugin with the same loops).
      const base = { contender: 'plugwire' as const, label: 'plugwire, host to plugin (same body)' };
      const names = Object.keys(SERVICE_BODIES) as ServiceBodyName[];
      const rows = new Map(
        names.map((name) => {
          const id = `services.${name.replace(' ', '')}`;
          const what = name === 'string' ? `${JSON.stringify(SERVICE_BODIES.string).length} B string` : `${name} object`;
          return [
            name,
            {
              p50: add(metric(`${id}.p50`, 'services', `host service, ${what}, sequential: p50 latency`, 'ms', 'lower', base)),
              p99: add(metric(`${id}.p99`, 'services', `host service, ${what}, sequential: p99 latency`, 'ms', 'lower', base)),
              t16: add(metric(`${id}.throughput.${SERVICE_CALLERS}`, 'services', `host service, ${what}, throughput, ${SERVICE_CALLERS} callers`, 'calls/s', 'higher', base)),
              // Where a call's time goes, steadier than time on a loaded machine: CPU per call of each side at 16 callers.
              caller: add(metric(`${id}.cpu.caller`, 'services', `host service, ${what}: caller CPU per call, ${SERVICE_CALLERS} callers`, 'ms', 'lower', base)),
              callee: add(metric(`${id}.cpu.callee`, 'services', `host service, ${what}: callee CPU per call, ${SERVICE_CALLERS} callers`, 'ms', 'lower', base)),
            },
          ] as const;
        }),
      );
      const session = services;
      const sides = ['plugwire', 'plugwire-host'] as const;
      for (let r = 0; r < plan.rounds; r++) {
        for (const name of names) {
          const body = SERVICE_BODIES[name];
          const row = rows.get(name);
          if (!row) continue;
          // The round's calls of each side in alternating slices: on a loaded machine, both
          // sides then meet the same load (a side's whole round at once met another).
          const times = { plugwire: [] as Float64Array[], 'plugwire-host': [] as Float64Array[] };
          const slice = Math.ceil(plan.seqCalls / SERVICE_SLICES);
          const warm = Math.ceil(plan.seqWarm / SERVICE_SLICES);
          for (let k = 0; k < SERVICE_SLICES; k++) {
            for (const side of rotate(sides, r + k)) {
              times[side].push(side === 'plugwire' ? await sequential(session.toPlugin(body), slice, warm) : await session.sequentialFromPlugin(body, slice, warm));
            }
          }
          for (const side of sides) {
            const all = new Float64Array(times[side].reduce((n, t) => n + t.length, 0));
            let at = 0;
            for (const t of times[side]) {
              all.set(t, at);
              at += t.length;
            }
            const lat = latencyOf(all);
            record(row.p50, side, r, lat.p50);
            record(row.p99, side, r, lat.p99);
          }
          for (const side of rotate(sides, r)) {
            let figures: { rate: number; callerCpu: number; calleeCpu: number };
            if (side === 'plugwire') {
              const probe = cpuProbe(session.pid);
              const rate = await throughput(session.toPlugin(body), SERVICE_CALLERS, plan.rampMs, plan.windowMs, probe);
              figures = { rate, callerCpu: probe.result.host, calleeCpu: probe.result.server };
            } else {
              figures = await session.throughputFromPlugin(body, SERVICE_CALLERS, plan.rampMs, plan.windowMs);
            }
            record(row.t16, side, r, figures.rate);
            record(row.caller, side, r, figures.callerCpu);
            record(row.callee, side, r, figures.calleeCpu);
          }
        }
      }
      progress(`services: ${plan.rounds} rounds × ${names.length} bodies × (${plan.seqCalls} calls, ${plan.windowMs} ms at ${SERVICE_CALLERS} callers) each way`);
    }

    // The call scenarios are done: their processes must not disturb what follows, and
    // the processes started from now on must not inherit the pinning.
    if (pinned) pinMainThread(process.pid, `0-${cpuCount - 1}`);
    for (const [name, session] of sessions) {
      await session.close();
      sessions.delete(name);
    }
    await services?.close();
    services = undefined;

    if (only.has('cold-start')) {
      const cold = add(metric('cold-start', 'cold-start', 'cold start: start() to first answer', 'ms', 'lower'));
      const list = selected.filter((c) => c.workloads.has('echo'));
      // One unrecorded start each: the host's first start loads code the later ones reuse.
      for (let i = -1; i < plan.coldSamples; i++) {
        for (const c of rotate(list, Math.max(0, i))) {
          const t0 = performance.now();
          const session = await c.start();
          try {
            await checkedCall(session.caller(small), small, c.name);
            if (i >= 0) record(cold, c.name, i, performance.now() - t0);
          } finally {
            await session.close();
          }
        }
      }
      progress(`cold start: ${plan.coldSamples} starts each`);
    }

    if (only.has('restart') && options.contenders.has('plugwire')) {
      const restart = add(metric('restart', 'restart', 'restart: kill -9 to next answer', 'ms', 'lower', { contender: 'floor', label: 'floor cold start', metric: 'cold-start' }));
      const session = await plugwire.start();
      try {
        const call = session.caller(small);
        await checkedCall(call, small, 'plugwire');
        for (let i = 0; i < plan.restartSamples; i++) {
          // A plugin in steady use, with connections open, as when it is killed in service.
          await throughput(session.caller(small, 16), 16, 0, 50);
          await sequential(call, 20, 0);
          const pid = session.pid;
          if (pid === undefined) throw new Error('plugwire: no pid to kill');
          process.kill(pid, 'SIGKILL');
          const t0 = performance.now();
          await checkedCall(call, small, 'plugwire after kill -9');
          record(restart, 'plugwire', i, performance.now() - t0);
          if (session.pid === pid) throw new Error(`plugwire: answered after kill -9 of ${pid} without a new process`);
        }
      } finally {
        await session.close();
      }
      progress(`restart: ${plan.restartSamples} kills`);
    }

    if (only.has('memory')) {
      const host = add(metric('memory.host', 'memory', 'host RSS per started plugin', 'bytes', 'lower'));
      const heap = add(metric('memory.host-heap', 'memory', 'host JS heap + external per started plugin', 'bytes', 'lower'));
      const idle = add(metric('memory.idle', 'memory', 'plugin RSS, idle after its first answer', 'bytes', 'lower'));
      const load = add(metric('memory.load', 'memory', 'plugin RSS, peak under load (16 callers, 10 KB)', 'bytes', 'lower'));
      const list = selected.filter((c) => c.workloads.has('echo'));
      const heapNow = (): number => {
        const m = process.memoryUsage();
        return m.heapUsed + m.external;
      };
      // What closed sessions still hold (sockets closing, timers) lets go within a few turns.
      const settled = async (): Promise<void> => {
        await delay(100);
        gc();
      };
      // Round 0 is not recorded: it loads and compiles what later rounds reuse.
      for (let r = 0; r <= plan.memoryRounds; r++) {
        for (const c of rotate(list, r)) {
          await settled();
          const rss0 = process.memoryUsage.rss();
          const started: Session[] = [];
          let hostRss = NaN;
          let heapOpen = NaN;
          let idleRss = NaN;
          let peak = NaN;
          try {
            for (let k = 0; k < plan.memoryPlugins; k++) {
              const session = await c.start();
              started.push(session);
              await checkedCall(session.caller(small), small, c.name);
            }
            gc();
            hostRss = (process.memoryUsage.rss() - rss0) / plan.memoryPlugins;
            idleRss = summarize(started.map((s) => rssOf(s.pid))).median;
            const loaded = started[0] as Session;
            const sampler = rssSampler(loaded.pid, 20);
            await throughput(loaded.caller(payloads['10 KB'], 16), 16, 0, plan.loadMs);
            peak = sampler.stop();
            // After the load, so that what it leaves behind for good is in both readings.
            await settled();
            heapOpen = heapNow();
          } finally {
            for (const s of started) await s.close();
          }
          // The heap each open session held: with them open, less once they are closed.
          await settled();
          const heapPer = (heapOpen - heapNow()) / plan.memoryPlugins;
          if (r > 0) {
            record(host, c.name, r - 1, hostRss);
            record(heap, c.name, r - 1, heapPer);
            record(idle, c.name, r - 1, idleRss);
            record(load, c.name, r - 1, peak);
          }
        }
      }
      progress(`memory: ${plan.memoryRounds} rounds × ${plan.memoryPlugins} plugins each`);
    }

    if (only.has('many') && options.contenders.has('plugwire')) {
      many = await runManyPlugins({ rounds: plan.manyRounds, rampMs: plan.rampMs, windowMs: plan.manyWindowMs, warmCalls: plan.warmCalls }, small, progress);
    }

    // Unpinned like everything after the call scenarios: a pool confined to one CPU could not scale.
    if (only.has('pools') && options.contenders.has('plugwire')) {
      pools = await runPools({ rounds: options.rounds ?? plan.poolsRounds, rampMs: plan.rampMs, windowMs: plan.poolsWindowMs, warmMs: plan.poolsWarmMs }, progress);
    }
  } finally {
    for (const session of sessions.values()) await session.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------
  // The report

  const results = resultsOf(metrics);
  const targets = evaluateTargets(results, { pools });
  const present = ORDER.filter((n) => results.some((r) => r.contenders[n]));
  console.log('');
  console.log(formatResults(results, present).join('\n'));
  console.log('');
  console.log(formatTargets(targets).join('\n'));
  console.log('');
  if (many) console.log(`${formatMany(many).join('\n')}\n`);
  if (pools) console.log(`${formatPools(pools).join('\n')}\n`);
  if (pinned) console.log('Call and stream scenarios ran with pinned main threads (host CPU 0, servers CPU 1); cold start, restart, memory, many and pools unpinned.');
  if (missing !== undefined) console.log(`No plugwire-stream row: ${missing}.`);
  if (only.has('services') && !servicesRun) console.log('No services rows: the services scenario needs the contenders plugwire and plugwire-host.');
  console.log('× floor: ratio to the floor of the same round (DTO rows: the floor carrying the same ten-field body; restart: the');
  console.log("floor's median cold start; host-service rows: plugwire's host-to-plugin call of the same round, same body and");
  console.log('processes). Spreads are the min – max over the rounds (cold start, restart: over the starts).');

  const finishedAt = new Date();
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    command: `node dist/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    plan,
    floorApi: options.floor,
    streamFloor: options.streamFloor,
    pinned,
    scenarios: [...only],
    contenders: { ...Object.fromEntries(selected.map((c) => [c.name, c.description])), ...(servicesRun ? { services: SERVICES_DESCRIPTIONS } : {}) },
    payloadBytes: { ...Object.fromEntries((Object.keys(payloads) as PayloadSize[]).map((s) => [s, sizeOf(payloads[s])])), order: sizeOf(order) },
    services: { bodyBytes: serviceBytes, callers: SERVICE_CALLERS },
    ...(many ? { manyPlugins: { counts: MANY_COUNTS, callers: MANY_CALLERS, rows: many } } : {}),
    ...(pools ? { pools } : {}),
    stream: { items: STREAM_ITEMS, itemBytes, itemCallers: ITEM_CALLERS, ...(missing === undefined ? {} : { skipped: { 'plugwire-stream': missing } }) },
    units: { ms: 'milliseconds', 'calls/s': 'answers per second', 'items/s': 'items received per second', bytes: 'bytes' },
    metrics: results,
    targets,
  };
  mkdirSync(path.dirname(options.json), { recursive: true });
  const tmp = `${options.json}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, options.json);
  const svgPath = options.json.replace(/\.json$/i, '') + '.svg';
  const subtitle = `${startedAt.toISOString().slice(0, 10)} · ${machine.cpus} × ${machine.model} · Node ${machine.node} · ${options.quick ? 'quick' : 'full'} run, ${plan.rounds} rounds · floor: undici ${options.floor}()`;
  writeFileSync(`${svgPath}.tmp`, drawSvg(results, targets, present, subtitle));
  renameSync(`${svgPath}.tmp`, svgPath);
  // The many-plugins rows have a chart of their own: they have no contenders to compare.
  const manySvg = options.json.replace(/\.json$/i, '') + '-many.svg';
  if (many) {
    writeFileSync(`${manySvg}.tmp`, drawManySvg(many, subtitle));
    renameSync(`${manySvg}.tmp`, manySvg);
  }
  const poolsSvg = options.json.replace(/\.json$/i, '') + '-pools.svg';
  if (pools) {
    const poolsSubtitle = `${startedAt.toISOString().slice(0, 10)} · ${machine.cpus} × ${machine.model} · Node ${machine.node} · ${options.quick ? 'quick' : 'full'} run, ${options.rounds ?? plan.poolsRounds} rounds`;
    writeFileSync(`${poolsSvg}.tmp`, drawPoolsSvg(pools, poolsSubtitle));
    renameSync(`${poolsSvg}.tmp`, poolsSvg);
  }
  const shown = (p: string): string => {
    const rel = path.relative(process.cwd(), p);
    return rel.startsWith('..') ? p : rel;
  };
  const charts = [svgPath, ...(many ? [manySvg] : []), ...(pools ? [poolsSvg] : [])].map(shown);
  console.log(`bench: figures written to ${shown(options.json)}, charts to ${charts.join(', ')} (${((performance.now() - began) / 1000).toFixed(0)} s)`);
  return 0;
}

runCli<Options>({
  name: 'bench',
  script: 'dist/bench/run.js',
  usage: USAGE,
  parse: parseOptions,
  bound: (options) => {
    const ms = options.quick ? 5 * 60_000 : 20 * 60_000;
    return { ms, text: `${ms / 60_000} minutes` };
  },
  run: run,
});
