// A host that offers the Python plugin host services: the plugin's /modify asks the host
// for its suffix (/kv/get) and logs each call on the host (/log). Run it with
// `npm run build && node dist/samples/python-modifier/host.js` (needs python3).
import { join } from 'node:path';
import { callContext, connect, spawnCommand } from 'plugwire';
import { Modifier } from '../modifier/contract';
import { HostApi } from './host-api';

/** The host's side of the services: its log and its values. */
class HostApiImpl extends HostApi {
  constructor(private readonly values: ReadonlyMap<string, string>) {
    super();
  }

  override async log(line: string): Promise<void> {
    // Which plugin called: its name on this host, and the pid it sent.
    const { caller } = callContext();
    console.log(`[${caller?.name ?? '?'} ${caller?.pid ?? '?'}] ${line}`);
  }

  override async get(key: string): Promise<string | null> {
    return this.values.get(key) ?? null;
  }
}

async function main(): Promise<void> {
  const script = join(__dirname, '../../../samples/python-modifier/plugin.py');
  const { plugin, close } = await connect(Modifier, spawnCommand('python3', [script], { name: 'python-modifier' }), {
    services: [new HostApiImpl(new Map([['suffix', 'decorated by the host']]))],
  });
  try {
    console.log(await plugin.modify('some value')); // "some value decorated by the host", after the plugin's log line
  } finally {
    await close(); // the plugin first, then the services
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
