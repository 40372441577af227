// plugwire in the services scenario: one plugin process (bench/servers/plugwire-services-server.ts)
// started with connect() and a host service (`services: [...]`), default configuration, no
// validation. The same body goes both ways between the same two processes: the host calls
// the plugin's echo (the baseline, recorded as plugwire), and the plugin, inside a method
// the host called, calls the host's echo through hostProxy() (recorded as plugwire-host).
import * as path from 'node:path';
import { connect, spawnCommand } from '../../lib';
import { BenchHost, BenchServices, type SequentialRun, type ThroughputFigures, type ThroughputRun } from '../contracts/bench-services.contract';
import type { Call } from '../measure';
import type { ServiceBody } from '../workloads';
import { serverNodeArgs } from './contender';
import { pluginLogger } from './plugwire';

const SERVER = path.join(__dirname, '../servers/plugwire-services-server.js');

/** What each side of the services scenario is, for the report. */
export const SERVICES_DESCRIPTIONS = {
  plugwire: 'plugwire connect() + createProxy, host to plugin, plain-object method (validate: false), default config',
  'plugwire-host': 'plugwire hostProxy() inside a plugin method, plugin to host service, same body and processes as the host-to-plugin call',
} as const;

/** The host service: answers its body unchanged. */
class BenchHostService extends BenchHost {
  override async echo(body: ServiceBody): Promise<ServiceBody> {
    return body;
  }
}

/** The started plugin with its host service. */
export interface ServicesSession {
  /** The plugin process. */
  readonly pid: number | undefined;
  /** A call of the plugin's echo with `body`, by the host. */
  toPlugin(body: ServiceBody): Call;
  /** Has the plugin time `count` sequential calls of the host's echo with `body` (after `warm` untimed ones) inside one of its methods: ms each. */
  sequentialFromPlugin(body: ServiceBody, count: number, warm: number): Promise<Float64Array>;
  /**
   * Has the plugin call the host's echo from `callers` loops at once inside one of its
   * methods: answers per second in `windowMs` after `rampMs`, and CPU per answer of both sides.
   */
  throughputFromPlugin(body: ServiceBody, callers: number, rampMs: number, windowMs: number): Promise<ThroughputFigures>;
  /** Closes the plugin, then the host service. */
  close(): Promise<void>;
}

/** Starts the plugin with its host service; resolves once it is ready (not yet called). */
export async function startServices(): Promise<ServicesSession> {
  const { plugin, client, close } = await connect(BenchServices, spawnCommand(process.execPath, [...serverNodeArgs, SERVER], { name: 'bench-plugwire-services', logger: pluginLogger }), {
    services: [new BenchHostService()],
  });
  const figures = async (run: SequentialRun | ThroughputRun): Promise<Record<string, unknown>> => {
    const got = (await plugin.hostCalls(run)) as Record<string, unknown>;
    const keys = run.mode === 'sequential' ? [] : ['rate', 'callerCpu', 'calleeCpu'];
    const samples = got.samples;
    const bad = run.mode === 'sequential' ? !Array.isArray(samples) || samples.length !== run.count : keys.some((k) => typeof got[k] !== 'number');
    if (bad) throw new Error(`plugwire-host: the plugin answered ${JSON.stringify(got).slice(0, 200)} to a ${run.mode} run`);
    return got;
  };
  return {
    get pid() {
      return client.pid;
    },
    toPlugin: (body) => () => plugin.echo(body),
    sequentialFromPlugin: async (body, count, warm) => Float64Array.from((await figures({ mode: 'sequential', body, count, warm })).samples as number[]),
    throughputFromPlugin: async (body, callers, rampMs, windowMs) => {
      const got = await figures({ mode: 'throughput', body, callers, rampMs, windowMs, hostPid: process.pid });
      return { rate: got.rate as number, callerCpu: got.callerCpu as number, calleeCpu: got.calleeCpu as number };
    },
    close,
  };
}
