// The plugin process of the pools scenario (bench/pools.ts): a CPU-bound method that does
// the fixed work the host asks for in each call; every instance of a pool runs this.
import { serve } from '../../lib';
import { BenchCpu } from '../contracts/bench-cpu.contract';
import { cpuWork } from '../workloads';

class BenchCpuPlugin extends BenchCpu {
  override async work(iterations: number): Promise<number> {
    return cpuWork(iterations);
  }
}

serve(new BenchCpuPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
