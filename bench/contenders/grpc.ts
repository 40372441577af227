// @grpc/grpc-js over a Unix socket (unix:///path): the RPC library a user would otherwise
// pick. JSON serialisation through a hand-written service definition, no code generation;
// calls go through Client.makeUnaryRequest, what the methods of a
// makeGenericClientConstructor client call. Default channel options, bar the 16 MiB
// message limit (plugwire's body limit).
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { removeDir } from '../../spec/support/host-helpers';
import { ECHO_PATH, GRPC_OPTIONS, deserialize, serialize } from '../contracts/grpc-service';
import type { EchoPayload } from '../workloads';
import { startServer, type Contender, type Session, type Workload } from './contender';

const SERVER = path.join(__dirname, '../servers/grpc-server.js');

export const grpcJs: Contender = {
  name: 'grpc',
  description: '@grpc/grpc-js 1.14 unary call over unix://, JSON serialize/deserialize, no codegen',
  workloads: new Set(['echo']),
  async start(): Promise<Session> {
    const { dir, socket, server } = await startServer(SERVER);
    const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), GRPC_OPTIONS);
    const stopped = server;
    return {
      pid: server.child.pid,
      caller(workload: Workload): () => Promise<unknown> {
        if (workload.kind !== 'echo') throw new Error(`grpc runs the echo workload only, not ${workload.kind}`);
        const { payload } = workload;
        return () =>
          new Promise<EchoPayload>((resolve, reject) => {
            client.makeUnaryRequest(ECHO_PATH, serialize, deserialize, payload, (error, value) => (error ? reject(error) : resolve(value as EchoPayload)));
          });
      },
      async close(): Promise<void> {
        client.close();
        await stopped.stop();
        removeDir(dir);
      },
    };
  },
};
