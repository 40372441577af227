// The plugin executable: a Nest application context whose @Plugin providers are served on
// the socket the host chose (PLUGIN_SOCKET). SIGTERM from the host closes the context.
import { NestFactory } from '@nestjs/core';
import { servePlugins } from 'plugwire/nest';
import { PluginModule } from './plugin.module';

async function main(): Promise<void> {
  // Nest's own log lines would go to standard output, next to the ready line: keep errors only.
  const app = await NestFactory.createApplicationContext(PluginModule, { logger: ['error', 'warn'] });
  await servePlugins(app);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
