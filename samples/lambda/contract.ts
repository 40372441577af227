// The contract that the handler and the plugin share.
import { Method, Plugin, stub } from 'plugwire';

/** What the plugin answers: the text, and which process did the work. */
export interface Shouted {
  /** The text in capitals, with an exclamation mark. */
  readonly text: string;
  /** The plugin's process id: the same one across invocations while it keeps running. */
  readonly pid: number;
}

@Plugin('shouter')
export class Shouter {
  /**
   * Shouts `text` after `workMs` ms: the time stands for the plugin's real work (a
   * conversion, a model, a native library), so that a caller can see a call outlive an
   * invocation's deadline.
   */
  @Method('/shout')
  shout(text: string, workMs: number): Promise<Shouted> {
    return stub(text, workMs);
  }
}
