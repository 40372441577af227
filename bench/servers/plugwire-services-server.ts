// The plugin process of the services scenario (bench/contenders/plugwire-services.ts): it
// echoes what the host sends it, and, inside its method hostCalls(), calls the host's echo
// service through hostProxy() with the same measuring loops the host uses for its calls
// (bench/measure.ts), so that both directions are timed alike.
import { hostProxy, serve } from '../../lib';
import { BenchHost, BenchServices, type HostCallFigures, type SequentialRun, type ThroughputRun } from '../contracts/bench-services.contract';
import { cpuProbe, sequential, throughput } from '../measure';
import type { ServiceBody } from '../workloads';

const host = hostProxy(BenchHost);

class BenchServicesPlugin extends BenchServices {
  override async echo(body: ServiceBody): Promise<ServiceBody> {
    return body;
  }

  override async hostCalls(run: SequentialRun | ThroughputRun): Promise<HostCallFigures> {
    const { body } = run;
    // One checked answer: a host that answers something else makes no figure.
    const want = JSON.stringify(body);
    const got = JSON.stringify(await host.echo(body));
    if (got !== want) throw new Error(`the host echoed ${got.slice(0, 120)} (${got.length} chars) for ${want.slice(0, 120)} (${want.length} chars)`);
    const call = (): Promise<ServiceBody> => host.echo(body);
    if (run.mode === 'sequential') return { samples: Array.from(await sequential(call, run.count, run.warm)) };
    // This process is the caller here, the host the callee (cpuProbe's "host" and "server").
    const probe = cpuProbe(run.hostPid);
    const rate = await throughput(call, run.callers, run.rampMs, run.windowMs, probe);
    return { rate, callerCpu: probe.result.host, calleeCpu: probe.result.server };
  }
}

serve(new BenchServicesPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
