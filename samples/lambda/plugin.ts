// The plugin executable. It ships in the function's package next to handler.js (or in a
// layer under /opt), and the handler starts it with this Node: `node plugin.js`.
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from 'plugwire';
import { Shouter, type Shouted } from './contract';

class ShouterPlugin extends Shouter {
  override async shout(text: string, workMs: number): Promise<Shouted> {
    if (workMs > 0) await sleep(workMs);
    return { text: `${text.toUpperCase()}!`, pid: process.pid };
  }
}

serve(new ShouterPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
