// The plugin executable: a host starts it with PLUGIN_SOCKET set.
import { serve } from 'plugwire';
import { ModifierPlugin } from './modifier.plugin';

serve(new ModifierPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
