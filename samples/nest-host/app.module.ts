import * as path from 'node:path';
import { Module } from '@nestjs/common';
import { PlugwireModule } from 'plugwire/nest';
import { Modifier } from '../modifier/contract';
import { ModifyController } from './modify.controller';

/** The plugin written as a Nest application context (samples/nest-plugin), built next to this file. */
export const NEST_PLUGIN = path.join(__dirname, '../nest-plugin/main.js');

@Module({
  imports: [
    PlugwireModule.register({
      plugins: [{ contract: Modifier, command: process.execPath, args: [NEST_PLUGIN], config: { timeout: 5000 } }],
    }),
  ],
  controllers: [ModifyController],
})
export class AppModule {}
