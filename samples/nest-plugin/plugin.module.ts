import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { ModifierImpl, Suffix } from './modifier.impl';

@Module({ providers: [Suffix, ModifierImpl] })
export class PluginModule implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    // Close databases and the like here: it runs when the host stops the plugin.
    console.log('nest-plugin: context closed');
  }
}
