/**
 * The serve option `onClose` (and `onShutdown`, its deprecated name): the hook a standalone
 * plugin runs after its server closed on a signal, before the process exits.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { Method, Plugin, PluginError, serve, stub } from '../../lib';
import { closeHook } from '../../lib/server/options';
import { rejectionOf, removeDir, tempDir } from '../support/host-helpers';
import { spawnPluginProcess } from '../support/plugin-process';

@Plugin('closing')
class Closing {
  @Method('/ping')
  ping(): Promise<string> {
    return stub();
  }
}

class ClosingImpl extends Closing {
  override async ping(): Promise<string> {
    return 'pong';
  }
}

const BOTH = 'serve(): pass onClose or onShutdown (its deprecated name), not both';

describe('closeHook()', () => {
  const onClose = (): void => undefined;
  const onShutdown = (): void => undefined;

  it('is onClose, or onShutdown under its old name, or none', () => {
    expect(closeHook({ onClose })).toBe(onClose);
    expect(closeHook({ onShutdown })).toBe(onShutdown);
    expect(closeHook({})).toBeUndefined();
    expect(closeHook({ onClose, onShutdown: undefined })).toBe(onClose);
  });

  it('refuses both: one of them would be ignored', () => {
    let thrown: unknown;
    try {
      closeHook({ onClose, onShutdown });
    } catch (error) {
      thrown = error;
    }
    expect(PluginError.is(thrown, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((thrown as Error).message).toBe(BOTH);
  });

  it('makes serve() fail before it listens', async () => {
    const error = await rejectionOf(serve(new ClosingImpl(), { onClose, onShutdown, announce: false, standalone: false }));
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toBe(BOTH);
  });
});

describe('a standalone plugin closing on SIGTERM', () => {
  let dir: string | undefined;
  afterEach(() => removeDir(dir));

  /** A plugin process (decorators applied by hand, on the built bundle) that prints `hook ran` from the given hook. */
  async function closeOnSigterm(hook: 'onClose' | 'onShutdown'): Promise<{ stdout: string[]; code: number | null }> {
    dir = tempDir();
    const script = path.join(dir, 'plugin.js');
    writeFileSync(
      script,
      `const { serve, Plugin, Method, stub } = require(${JSON.stringify(path.join(__dirname, '../../dist/lib/index.js'))});
class Closing { ping() { return stub(); } }
Method('/ping', { validate: false })(Closing.prototype, 'ping', Object.getOwnPropertyDescriptor(Closing.prototype, 'ping'));
Plugin('closing')(Closing);
class ClosingImpl extends Closing { async ping() { return 'pong'; } }
void serve(new ClosingImpl(), { ${hook}: async () => { await new Promise((r) => setTimeout(r, 50)); process.stdout.write('hook ran\\n'); } });
`,
    );
    const plugin = spawnPluginProcess(script, { PATH: process.env.PATH, PLUGIN_SOCKET: path.join(dir, 'plugin.sock') });
    await plugin.line('stdout', 'plugin is ready');
    plugin.child.kill('SIGTERM');
    const { code } = await plugin.exit;
    return { stdout: plugin.stdout, code };
  }

  it('runs onClose after the server closed, then exits 0', async () => {
    const { stdout, code } = await closeOnSigterm('onClose');
    expect(stdout).toEqual(['plugin is ready', 'hook ran']);
    expect(code).toBe(0);
  });

  it('still runs onShutdown, the deprecated name', async () => {
    const { stdout, code } = await closeOnSigterm('onShutdown');
    expect(stdout).toEqual(['plugin is ready', 'hook ran']);
    expect(code).toBe(0);
  });
});
