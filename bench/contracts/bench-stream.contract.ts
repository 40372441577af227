// The plugwire contract of the stream scenario, without validation: the same items as a
// stream (one call) and one by one (a call each).
import { Method, Plugin, stub } from '../../lib';
import type { StreamItem } from '../workloads';

@Plugin('bench-stream')
export class BenchStream {
  /** Yields items 0 to `count` − 1. */
  @Method('/items', { stream: true, validate: false })
  items(count: number): AsyncIterable<StreamItem> {
    return stub(count);
  }

  /** Answers item `seq`. */
  @Method('/item', { validate: false })
  item(seq: number): Promise<StreamItem> {
    return stub(seq);
  }
}
