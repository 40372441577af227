// What a plugwire plugin's cold start is made of, part by part, against the floor's (a bare
// node:http server on a Unix socket, called once with undici): the cold start scenario of
// `npm run bench` measures the whole; this says where the difference goes. Each start is
// spawn to first answer, every kind in turn in each round (one unrecorded round first), all
// with Node's module compile cache in one fresh directory, as spawnCommand() gives a plugin:
//
// - floor: the floor's server;
// - + reflect-metadata: the same server after require('reflect-metadata');
// - + plugwire loaded: the same server after loading the plugwire package (nothing called);
// - plugin alone: the benchmark's plugwire plugin (bench/servers/plugwire-server.ts),
//   spawned and called as the floor is (no token, no lifeline, no contract check);
// - connect(), no check: connect() with spawnCommand() and `contractCheck: 'off'`, then a call;
// - connect(): the same with the default contract check (the bench's cold start).
//
//   node dist/bench/cold-start-parts.js [--starts N]
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { connect, spawnCommand, type ContractCheck } from '../lib';
import { removeDir, tempDir } from '../spec/support/host-helpers';
import { Bench } from './contracts/bench.contract';
import { pluginLogger } from './contenders/plugwire';
import { echoPayload, PAYLOAD_SIZES } from './workloads';

const SERVERS = path.join(__dirname, 'servers');
const PACKAGE = path.join(__dirname, '../lib/index.js');
/** The 100 B payload of the bench's cold start, and the floor's body carrying it. */
const PAYLOAD = echoPayload(PAYLOAD_SIZES['100 B']);
const BODY = `{"Context":{"Deadline":null},"Payload":${JSON.stringify(PAYLOAD)}}`;

/** Spawns `node <script> [socket]` with `env`, waits for its first line of output, calls /echo once; ms from spawn to answer. */
async function rawStart(script: string, env: NodeJS.ProcessEnv, socketArg: boolean): Promise<number> {
  const dir = tempDir();
  const socket = path.join(dir, 'bench.sock');
  const began = performance.now();
  const child = spawn(process.execPath, socketArg ? [script, socket] : [script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...env, PLUGIN_SOCKET: socket } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = new Client('http://localhost', { socketPath: socket });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${path.basename(script)} exited (${code}) before it was ready`)));
    });
    const { statusCode, body } = await client.request({ path: '/echo', method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } });
    await body.text();
    if (statusCode !== 200) throw new Error(`${path.basename(script)} answered ${statusCode}`);
    return performance.now() - began;
  } finally {
    await client.close();
    child.kill();
    await exited;
    removeDir(dir);
  }
}

/** connect() with spawnCommand(), one call; ms from connect() to the answer. */
async function connectStart(contractCheck: ContractCheck): Promise<number> {
  const began = performance.now();
  const { plugin, close } = await connect(Bench, spawnCommand(process.execPath, [path.join(SERVERS, 'plugwire-server.js')], { name: 'cold-parts', logger: pluginLogger }), { contractCheck });
  try {
    await plugin.echo(PAYLOAD);
    return performance.now() - began;
  } finally {
    await close();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { starts: { type: 'string', default: '25' } } });
  const starts = Number(values.starts);
  if (!Number.isInteger(starts) || starts < 3) throw new Error(`--starts takes a whole number of at least 3, got ${values.starts}`);
  const cache = tempDir();
  const env = { ...process.env, NODE_COMPILE_CACHE: cache };
  const floor = path.join(SERVERS, 'floor-server.js');
  const preload = path.join(SERVERS, 'floor-preload-server.js');
  const kinds: ReadonlyArray<readonly [string, () => Promise<number>]> = [
    ['floor', () => rawStart(floor, env, true)],
    ['+ reflect-metadata', () => rawStart(preload, { ...env, BENCH_PRELOAD: 'reflect-metadata' }, true)],
    ['+ plugwire loaded', () => rawStart(preload, { ...env, BENCH_PRELOAD: PACKAGE }, true)],
    ['plugin alone', () => rawStart(path.join(SERVERS, 'plugwire-server.js'), env, false)],
    ['connect(), no check', () => connectStart('off')],
    ['connect()', () => connectStart('strict')],
  ];
  const samples = new Map<string, number[]>(kinds.map(([name]) => [name, []]));
  try {
    for (let round = -1; round < starts; round++) {
      for (const [name, start] of kinds) {
        const ms = await start();
        if (round >= 0) samples.get(name)?.push(ms);
      }
    }
  } finally {
    removeDir(cache);
  }
  const floorMs = median(samples.get('floor') ?? []);
  console.log(`Cold start by parts, Node ${process.versions.node}, median of ${starts} starts each (spawn to first answer):`);
  let previous = floorMs;
  for (const [name] of kinds) {
    const ms = median(samples.get(name) ?? []);
    const step = name === 'floor' ? '' : `  ${ms - previous >= 0 ? '+' : ''}${(ms - previous).toFixed(1)} ms`;
    console.log(`${name.padEnd(22)}${ms.toFixed(1).padStart(7)} ms  ${(ms / floorMs).toFixed(2)}×${step}`);
    previous = ms;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
