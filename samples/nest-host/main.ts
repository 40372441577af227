// A Nest HTTP application that calls the modifier plugin through an injected proxy:
//   node dist/samples/nest-host/main.js    then    curl 'localhost:3000/modify?text=hi'
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  // SIGTERM/SIGINT close the application, which terminates the plugin.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  console.log(`listening on ${new URL(await app.getUrl()).port}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
