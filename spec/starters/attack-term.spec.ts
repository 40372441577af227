// Attack: an awaited term() in a host with nothing else pending. The kill timer and the
// plugin process were unref'd, so with terminationGrace 0, or a plugin that ignores
// SIGTERM, the host's event loop emptied at that await and the process exited (status 0)
// without running the code after it. An awaited term() must see grace, SIGKILL and the
// exit through.
import { fixture, pidAlive, spawnNode, within } from '../support/host-helpers';

describe('an awaited term() in a host with nothing else pending', () => {
  it.each([
    ['terminationGrace is 0', '0', '0'],
    ['the plugin ignores SIGTERM (grace 300 ms)', '300', '1'],
  ])('resolves, and the code after it runs, when %s', async (_what, grace, ignore) => {
    const host = spawnNode([fixture('host/attack-host-term'), grace, ignore]);
    const line = await within(host.line(/^plugin \d+$/), 20_000, 'the plugin to start');
    const pid = Number(line.split(' ')[1]);
    const exit = await within(host.exited, 20_000, 'the host to exit');
    expect({ exit, lines: host.lines, stderr: host.stderr() }).toEqual({ exit: { code: 0, signal: null }, lines: [line, 'after term closed'], stderr: '' });
    expect(pidAlive(pid)).toBe(false);
  });
});
