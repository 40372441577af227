// A NestJS entry with `instances`: one injected proxy over a pool of plugin processes, each
// shown by the registry, all ended when the application closes. Real processes.
import * as path from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { PlugwireModule, PlugwireRegistry } from '../../lib/nest';
import { Modifier } from '../../samples/modifier/contract';
import { pidAlive, waitForPidGone } from '../support/host-helpers';
import { silent } from '../support/nest-modules';

const PLAIN_PLUGIN = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

describe('PlugwireModule: a plugin entry with instances', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('runs a pool behind one proxy; the registry shows each instance; close() ends them all', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [PlugwireModule.register({ plugins: [{ contract: Modifier, command: process.execPath, args: [PLAIN_PLUGIN], logger: false, instances: 3 }] })],
    })
      .setLogger(silent)
      .compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    const registry = moduleRef.get(PlugwireRegistry);
    const [status] = registry.list();
    expect(status).toMatchObject({ contract: 'Modifier', state: 'running', restarts: 0, healthy: true });
    expect(status?.instances.map((one) => [one.index, one.state, one.restarts])).toEqual([
      [0, 'running', 0],
      [1, 'running', 0],
      [2, 'running', 0],
    ]);
    const pids = status?.instances.map((one) => one.pid as number) ?? [];
    expect(new Set(pids).size).toBe(3);
    expect(registry.client(Modifier)?.stats.instances).toHaveLength(3);
    const modifier = moduleRef.get(Modifier);
    await expect(Promise.all(['a', 'b', 'c', 'd'].map((x) => modifier.modify(x)))).resolves.toEqual(['a decorated', 'b decorated', 'c decorated', 'd decorated']);
    await moduleRef.close();
    moduleRef = undefined;
    for (const pid of pids) await waitForPidGone(pid);
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
  });
});
