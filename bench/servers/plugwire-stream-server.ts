// The plugin process of the stream scenario (bench/contenders/plugwire-stream.ts): the
// items as a stream and one by one.
import { serve } from '../../lib';
import { BenchStream } from '../contracts/bench-stream.contract';
import { streamItem, type StreamItem } from '../workloads';

class BenchStreamPlugin extends BenchStream {
  override async *items(count: number): AsyncIterable<StreamItem> {
    for (let seq = 0; seq < count; seq++) yield streamItem(seq);
  }

  override async item(seq: number): Promise<StreamItem> {
    return streamItem(seq);
  }
}

serve(new BenchStreamPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
