// The host: spawns the compiled plugin, calls it through a typed proxy, and stops it.
import { join } from 'node:path';
import { PluginError, connect, spawnCommand } from 'plugwire';
import { Modifier } from './contract';

async function main(): Promise<void> {
  const { plugin, close } = await connect(Modifier, spawnCommand(process.execPath, [join(__dirname, 'plugin.js')]));
  try {
    console.log(await plugin.modify('some value'));

    const greeting = await plugin.greet({ name: 'Ada', age: 36, address: { city: 'London' } });
    console.log(greeting.shout());

    console.log(await plugin.join(['a', 'b'], '-', 2));

    try {
      await plugin.greet({ name: '', age: -1 });
    } catch (error) {
      if (!PluginError.is(error, 'PLUGWIRE_VALIDATION')) throw error;
      console.log(`refused before sending: ${error.message}`);
    }
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
