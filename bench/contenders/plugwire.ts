// plugwire without validation: connect() with the benchmark contract, calls through the
// typed proxy; the plugin is a process (bench/servers/plugwire-server.ts) started by the
// command starter, on a socket in a fresh private directory. Default configuration.
import * as path from 'node:path';
import { connect, spawnCommand, type PluginLogger } from '../../lib';
import { Bench } from '../contracts/bench.contract';
import { serverNodeArgs, type Contender, type Session, type Workload } from './contender';

const SERVER = path.join(__dirname, '../servers/plugwire-server.js');

/** Drops the plugin's ordinary output (the ready line), passes its errors on. */
export const pluginLogger: PluginLogger = {
  log: () => undefined,
  error: (line) => console.error(line),
};

export const plugwire: Contender = {
  name: 'plugwire',
  description: 'plugwire connect() + createProxy, plain-object method (validate: false), default config',
  workloads: new Set(['echo', 'order']),
  async start(): Promise<Session> {
    const { plugin, client, close } = await connect(Bench, spawnCommand(process.execPath, [...serverNodeArgs, SERVER], { name: 'bench-plugwire', logger: pluginLogger }));
    return {
      get pid() {
        return client.pid;
      },
      caller(workload: Workload): () => Promise<unknown> {
        if (workload.kind === 'echo') {
          const { payload } = workload;
          return () => plugin.echo(payload);
        }
        if (workload.kind !== 'order') throw new Error(`plugwire runs the echo and order workloads, not ${workload.kind}`);
        const { order } = workload;
        return () => plugin.order(order);
      },
      close,
    };
  },
};
