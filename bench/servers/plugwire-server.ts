// The plugwire contender's plugin process (bench/contenders/plugwire.ts): the benchmark
// contract without validation, served as a plugin started by the host.
import { serve } from '../../lib';
import { Bench } from '../contracts/bench.contract';
import type { EchoPayload, OrderFields } from '../workloads';

class BenchPlugin extends Bench {
  override async echo(payload: EchoPayload): Promise<EchoPayload> {
    return payload;
  }

  override async order(order: OrderFields): Promise<string> {
    return order.id;
  }
}

serve(new BenchPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
