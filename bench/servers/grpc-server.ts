// The gRPC contender's server (bench/contenders/grpc.ts): @grpc/grpc-js on a Unix socket,
// JSON serialisation, the echo method only.
//
//   node dist/bench/servers/grpc-server.js <socket>
//
// Prints `ready` once it listens; exits (status 0) on SIGTERM and when its standard input
// closes (the host is gone).
import * as grpc from '@grpc/grpc-js';
import { BENCH_SERVICE, GRPC_OPTIONS } from '../contracts/grpc-service';

const socket = process.argv[2];
if (!socket) {
  console.error('usage: grpc-server <socket>');
  process.exit(2);
}

const server = new grpc.Server(GRPC_OPTIONS);
server.addService(BENCH_SERVICE, {
  echo: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, call.request),
});
server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    console.error(`grpc-server: cannot listen on ${socket}: ${error.message}`);
    process.exit(1);
  }
  process.stdout.write('ready\n');
});
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
