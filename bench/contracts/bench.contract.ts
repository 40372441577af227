// The plugwire contract of the benchmark without validation: plain objects in and out.
import { Method, Plugin, stub } from '../../lib';
import type { EchoPayload, OrderFields } from '../workloads';

@Plugin('bench')
export class Bench {
  /** Answers its payload unchanged. */
  @Method('/echo', { validate: false })
  echo(payload: EchoPayload): Promise<EchoPayload> {
    return stub(payload);
  }

  /** The ten-field order as a plain object, unchecked: answers its id. */
  @Method('/order', { validate: false })
  order(order: OrderFields): Promise<string> {
    return stub(order);
  }
}
