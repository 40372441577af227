import { Method, Plugin, callContext, connect, hostProxy, serveInProcess, stub } from '../../lib';

@Plugin('host-api')
class HostApi {
  @Method('/log') log(line: string): Promise<string> { return stub(line); }
  @Method('/lines', { stream: true }) lines(n: number): AsyncIterable<number> { return stub(n); }
}
class HostApiImpl extends HostApi {
  seen: string[] = [];
  override async log(line: string): Promise<string> {
    const c = callContext();
    this.seen.push(`${line} from ${c.caller?.name} ${c.caller?.pid}`);
    return `logged ${line}`;
  }
  override async *lines(n: number): AsyncIterable<number> { for (let i = 0; i < n; i++) yield i; }
}
@Plugin('logs')
class Logs {
  @Method('/tail') tail(x: string): Promise<string> { return stub(x); }
  @Method('/count') count(n: number): Promise<number> { return stub(n); }
}
const host = hostProxy(HostApi);
class LogsImpl extends Logs {
  override async tail(x: string): Promise<string> { return host.log(x); }
  override async count(n: number): Promise<number> { let s = 0; for await (const i of host.lines(n)) s += i; return s; }
}

test('smoke', async () => {
  const impl = new HostApiImpl();
  const { plugin, close } = await connect(Logs, serveInProcess(new LogsImpl()), { services: [impl] });
  try {
    expect(await plugin.tail('a')).toBe('logged a');
    expect(await plugin.count(5)).toBe(10);
    expect(impl.seen[0]).toMatch(/^a from /);
  } finally {
    await close();
  }
  await expect(host.log('x')).rejects.toMatchObject({ code: 'PLUGWIRE_CONTRACT' });
});
