// plugwire with a class-validator DTO of ten fields (bench/contracts/bench-dto.contract.ts),
// validated on the host before sending and in the plugin (bench/servers/plugwire-dto-server.ts)
// before the method runs. Default configuration.
import * as path from 'node:path';
import { connect, spawnCommand } from '../../lib';
import { BenchDto, BenchOrder } from '../contracts/bench-dto.contract';
import { serverNodeArgs, type Contender, type Session, type Workload } from './contender';
import { pluginLogger } from './plugwire';

const SERVER = path.join(__dirname, '../servers/plugwire-dto-server.js');

export const plugwireDto: Contender = {
  name: 'plugwire-dto',
  description: 'plugwire connect() + createProxy, ten-field class-validator DTO validated on both sides',
  workloads: new Set(['order']),
  async start(): Promise<Session> {
    const { plugin, client, close } = await connect(BenchDto, spawnCommand(process.execPath, [...serverNodeArgs, SERVER], { name: 'bench-plugwire-dto', logger: pluginLogger }));
    return {
      get pid() {
        return client.pid;
      },
      caller(workload: Workload): () => Promise<unknown> {
        if (workload.kind !== 'order') throw new Error(`plugwire-dto runs the order workload only, not ${workload.kind}`);
        // The caller holds a DTO instance, as a user of the contract does.
        const order = Object.assign(new BenchOrder(), workload.order);
        return () => plugin.order(order);
      },
      close,
    };
  },
};
