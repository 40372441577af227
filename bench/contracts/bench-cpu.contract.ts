// The plugwire contract of the pools scenario (bench/pools.ts): one CPU-bound method
// whose work the host sets per call, plain numbers in and out.
import { Method, Plugin, stub } from '../../lib';

@Plugin('bench-cpu')
export class BenchCpu {
  /** Runs `cpuWork(iterations)` (bench/workloads.ts) and answers its result. */
  @Method('/work', { validate: false })
  work(iterations: number): Promise<number> {
    return stub(iterations);
  }
}
