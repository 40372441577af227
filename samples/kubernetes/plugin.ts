// The plugin container's entry point: serves the modifier sample on the socket in the volume
// it shares with the host container. Nobody spawns it: the container runtime starts it, and
// starts it again when it exits.
import { serve } from 'plugwire';
import { ModifierPlugin } from '../modifier/modifier.plugin';
import { podSettings } from './paths';

const { socket, tokenFile } = podSettings();

// The token is read from the mounted Secret once, here: a rotated secret is taken when the
// container starts again. SIGTERM (the pod stopping) closes the server after the calls in
// flight and exits with status 0; a socket file left by a killed predecessor is replaced.
serve(new ModifierPlugin(), { socket, tokenFile }).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
