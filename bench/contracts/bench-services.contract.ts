// The plugwire contracts of the services scenario, without validation: the host service
// the plugin calls, and the plugin that the host calls and that measures its own calls to
// the host (bench/servers/plugwire-services-server.ts).
import { Method, Plugin, stub } from '../../lib';
import type { ServiceBody } from '../workloads';

@Plugin('bench-host')
export class BenchHost {
  /** Answers its body unchanged: the host service. */
  @Method('/echo', { validate: false })
  echo(body: ServiceBody): Promise<ServiceBody> {
    return stub(body);
  }
}

/** Sequential calls to the host: `count` timed after `warm` untimed ones. */
export interface SequentialRun {
  readonly mode: 'sequential';
  readonly body: ServiceBody;
  readonly count: number;
  readonly warm: number;
}

/**
 * `callers` loops calling the host at once: answers counted in `windowMs` after `rampMs`,
 * and the CPU time per answer of the plugin and of the host (`hostPid`) in that window.
 */
export interface ThroughputRun {
  readonly mode: 'throughput';
  readonly body: ServiceBody;
  readonly callers: number;
  readonly rampMs: number;
  readonly windowMs: number;
  readonly hostPid: number;
}

/** Answers per second, and CPU ms per answer of the caller (the plugin) and the callee (the host). */
export interface ThroughputFigures {
  readonly rate: number;
  readonly callerCpu: number;
  readonly calleeCpu: number;
}

/** What the plugin measured: the time of each timed call in ms, or {@link ThroughputFigures}. */
export type HostCallFigures = { readonly samples: readonly number[] } | ThroughputFigures;

@Plugin('bench-services')
export class BenchServices {
  /** Answers its body unchanged: the host-to-plugin call of the same body. */
  @Method('/echo', { validate: false })
  echo(body: ServiceBody): Promise<ServiceBody> {
    return stub(body);
  }

  /** Calls the host service's echo from inside this method, as `run` says, and answers what it measured. */
  @Method('/host-calls', { validate: false })
  hostCalls(run: SequentialRun | ThroughputRun): Promise<HostCallFigures> {
    return stub(run);
  }
}
