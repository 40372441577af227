import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Method, Plugin, PluginError, serve, stub, StubCalledError, type ServeOptions } from '../../lib';
import { readPlugin } from '../../lib/metadata/reflection-helpers';
import { buildRouteTable } from '../../lib/server/route-table';

@Plugin()
class Unnamed {
  @Method('/unnamed')
  call(value: string): Promise<string> {
    return stub(value);
  }
}

@Plugin('named-plugin')
class Named {
  @Method('/named')
  call(value: string): Promise<string> {
    return stub(value);
  }
}

class NamedImpl extends Named {
  override async call(value: string): Promise<string> {
    return value;
  }
}

@Plugin('renamed')
class Renamed extends Named {}

/** Another contract that also declares `/named`. */
@Plugin('competitor')
class Competitor {
  @Method('/named')
  other(value: string): Promise<string> {
    return stub(value);
  }
}

class CompetitorImpl extends Competitor {
  override async other(value: string): Promise<string> {
    return value;
  }
}

@Plugin('empty')
class Empty {}

describe('@Plugin()', () => {
  it('names the plugin after the class by default', () => {
    expect(readPlugin(Unnamed)).toEqual({ name: 'Unnamed' });
  });

  it('takes an explicit name', () => {
    expect(readPlugin(Named)).toEqual({ name: 'named-plugin' });
  });

  it('passes the contract name on to the implementation and its route table', () => {
    expect(readPlugin(NamedImpl)).toEqual({ name: 'named-plugin' });
    expect(buildRouteTable([new NamedImpl()]).get('/named')?.plugin).toBe('named-plugin');
  });

  it('lets a decorated subclass carry its own name without renaming its parent', () => {
    expect(readPlugin(Renamed)).toEqual({ name: 'renamed' });
    expect(readPlugin(Named)).toEqual({ name: 'named-plugin' });
  });

  it.each(['', '   '])('refuses the empty name %j with PLUGWIRE_DEFINITION', (name) => {
    let error: unknown;
    try {
      @Plugin(name)
      class Blank {}
      void Blank;
    } catch (e) {
      error = e;
    }
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toContain('Blank');
  });
});

describe('stub()', () => {
  it('throws StubCalledError with code PLUGWIRE_STUB, with or without arguments', () => {
    expect(() => stub()).toThrow(StubCalledError);
    let error: unknown;
    try {
      stub('a', 1, { b: 2 });
    } catch (e) {
      error = e;
    }
    expect(PluginError.is(error, 'PLUGWIRE_STUB')).toBe(true);
    expect((error as Error).message).toMatch(/stub/);
  });

  it('makes a contract method that is run locally fail with PLUGWIRE_STUB', () => {
    const contract = new Named();
    let error: unknown;
    try {
      void contract.call('x');
    } catch (e) {
      error = e;
    }
    expect(PluginError.is(error, 'PLUGWIRE_STUB')).toBe(true);
  });
});

describe('serve() with a wrong definition', () => {
  let dir: string;
  let socket: string;
  const options = (): ServeOptions => ({ socket, standalone: false, announce: false });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
    socket = path.join(dir, 'refused.sock');
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    // a refused definition never gets as far as creating the socket
    expect(fs.existsSync(socket)).toBe(false);
  });

  async function refusal(implementation: object | readonly object[]): Promise<PluginError> {
    let error: unknown;
    try {
      const server = await serve(implementation, options());
      await server.close();
    } catch (e) {
      error = e;
    }
    if (!PluginError.is(error)) throw new Error(`serve() did not refuse: ${String(error)}`);
    return error;
  }

  it('refuses an instance of a class without routes', async () => {
    class Plain {
      hello(): string {
        return 'hi';
      }
    }
    const error = await refusal(new Plain());
    expect(error.code).toBe('PLUGWIRE_DEFINITION');
    expect(error.message).toContain('Plain');
  });

  it('refuses an instance of a @Plugin() contract that declares no @Method()', async () => {
    const error = await refusal(new Empty());
    expect(error.code).toBe('PLUGWIRE_DEFINITION');
    expect(error.message).toContain('Empty');
  });

  it('refuses two implementations that serve the same route, naming both plugins', async () => {
    const error = await refusal([new NamedImpl(), new CompetitorImpl()]);
    expect(error.code).toBe('PLUGWIRE_DEFINITION');
    expect(error.message).toContain("'/named'");
    expect(error.message).toContain('named-plugin');
    expect(error.message).toContain('competitor');
  });

  it('refuses an empty list of implementations', async () => {
    expect((await refusal([])).code).toBe('PLUGWIRE_DEFINITION');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'NamedImpl'],
    ['the class instead of an instance', NamedImpl],
  ])('refuses %s', async (_what, value) => {
    expect((await refusal([value as object])).code).toBe('PLUGWIRE_DEFINITION');
  });

  it('refuses to start without a socket path', async () => {
    const saved = process.env['PLUGIN_SOCKET'];
    delete process.env['PLUGIN_SOCKET'];
    try {
      let error: unknown;
      try {
        const server = await serve(new NamedImpl(), { standalone: false, announce: false });
        await server.close();
      } catch (e) {
        error = e;
      }
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('PLUGIN_SOCKET');
    } finally {
      if (saved !== undefined) process.env['PLUGIN_SOCKET'] = saved;
    }
  });
});
