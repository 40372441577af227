// The gRPC service of the benchmark: one unary method, JSON serialisation, no code
// generation (a service definition written out, as makeGenericClientConstructor takes it).
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { EchoPayload } from '../workloads';

export const ECHO_PATH = '/plugwire.bench.Bench/Echo';

export function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

export function deserialize(bytes: Buffer): EchoPayload {
  return JSON.parse(bytes.toString('utf8')) as EchoPayload;
}

export const BENCH_SERVICE: ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: 'Echo',
  },
};

/** Message size limit on both sides: plugwire's default body limit. */
export const GRPC_OPTIONS = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
};
