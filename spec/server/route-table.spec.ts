// buildRouteTable() without sockets: the routes it finds, the bodies a class inherits
// from its contract, the implemented flags, and the definition errors it throws.
import { Method, Plugin, PluginError, stub } from '../../lib';
import { buildRouteTable, describeRoute, type Route } from '../../lib/server/route-table';

@Plugin('greeter')
class Greeter {
  @Method('/greet')
  greet(name: string): Promise<string> {
    return stub(name);
  }

  @Method('/count')
  count(): Promise<number> {
    return stub();
  }
}

class GreeterImpl extends Greeter {
  override async greet(name: string): Promise<string> {
    return `hello ${name}`;
  }

  override async count(): Promise<number> {
    return 1;
  }
}

/** Overrides one of the two methods: /count runs the contract's stub(). */
class HalfGreeter extends Greeter {
  override async greet(name: string): Promise<string> {
    return `hi ${name}`;
  }
}

/** A contract whose methods have bodies of their own: defaults, or errors of their own. */
@Plugin('defaults')
class Defaults {
  @Method('/sync-default')
  syncDefault(): string {
    return 'default';
  }

  @Method('/async-default')
  async asyncDefault(): Promise<string> {
    return 'async default';
  }

  @Method('/async-stub')
  async asyncStub(): Promise<string> {
    return stub();
  }

  @Method('/own-error')
  ownError(): string {
    throw new RangeError('out of range');
  }
}

class DefaultsImpl extends Defaults {}

@Plugin('base')
class Base {
  @Method('/base')
  base(): Promise<string> {
    return stub();
  }
}

@Plugin('derived')
class Derived extends Base {
  @Method('/derived')
  derived(): Promise<string> {
    return stub();
  }
}

class DerivedImpl extends Derived {
  override async base(): Promise<string> {
    return 'base';
  }

  override async derived(): Promise<string> {
    return 'derived';
  }
}

/** Another contract that also declares `/greet`. */
@Plugin('rival')
class Rival {
  @Method('/greet')
  other(): Promise<string> {
    return stub();
  }
}

class RivalImpl extends Rival {
  override async other(): Promise<string> {
    return 'rival';
  }
}

@Plugin('echo')
class Echo {
  // An untyped parameter, taken as it comes (validate: false: no warning that it cannot be validated).
  @Method('/echo', { validate: false })
  echo(value: unknown): Promise<unknown> {
    return stub(value);
  }
}

class EchoImpl extends Echo {
  override async echo(value: unknown): Promise<unknown> {
    return value;
  }
}

class Undecorated {
  run(): string {
    return 'run';
  }
}

function route(table: Map<string, Route>, path: string): Route {
  const entry = table.get(path);
  if (!entry) throw new Error(`no route ${path} in ${[...table.keys()].join(', ')}`);
  return entry;
}

/** The error `run` throws, which must be a DefinitionError. */
function definitionError(run: () => unknown): PluginError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(PluginError.is(thrown, 'PLUGWIRE_DEFINITION')).toBe(true);
  return thrown as PluginError;
}

async function rejection(value: unknown): Promise<unknown> {
  expect(value).toBeInstanceOf(Promise);
  return (value as Promise<unknown>).then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('buildRouteTable()', () => {
  describe('routes', () => {
    it('has one route per decorated method, with its definition, target and plugin name', () => {
      const impl = new GreeterImpl();
      const table = buildRouteTable([impl]);
      expect([...table.keys()]).toEqual(['/greet', '/count']);
      const greet = route(table, '/greet');
      expect(greet.definition.route).toBe('/greet');
      expect(greet.definition.propertyKey).toBe('greet');
      expect(greet.definition.declaringClass).toBe(Greeter);
      expect(greet.target).toBe(impl);
      expect(greet.plugin).toBe('greeter');
    });

    it('calls the instance method itself when it is overridden', async () => {
      const impl = new GreeterImpl();
      const greet = route(buildRouteTable([impl]), '/greet');
      expect(greet.handler).toBe(impl.greet);
      await expect(greet.handler.apply(impl, ['Ada'])).resolves.toBe('hello Ada');
    });

    it('converts the arguments of a method with typed parameters only', () => {
      expect(route(buildRouteTable([new GreeterImpl()]), '/greet').convert).toBe(true);
      expect(route(buildRouteTable([new EchoImpl()]), '/echo').convert).toBe(false);
    });

    it('includes the routes a contract inherits from its base contract', () => {
      const table = buildRouteTable([new DerivedImpl()]);
      expect([...table.keys()].sort()).toEqual(['/base', '/derived']);
      expect(route(table, '/base').definition.declaringClass).toBe(Base);
      expect(route(table, '/derived').definition.declaringClass).toBe(Derived);
      expect(route(table, '/base').plugin).toBe('derived');
    });

    it('merges the routes of several implementations, each with its own target and plugin', () => {
      const greeter = new GreeterImpl();
      const echo = new EchoImpl();
      const table = buildRouteTable([greeter, echo]);
      expect([...table.keys()]).toEqual(['/greet', '/count', '/echo']);
      expect(route(table, '/echo').target).toBe(echo);
      expect(route(table, '/echo').plugin).toBe('echo');
      expect(route(table, '/greet').target).toBe(greeter);
    });
  });

  describe('implemented flags', () => {
    it('marks every method an implementation overrides as implemented', () => {
      const table = buildRouteTable([new GreeterImpl()]);
      expect([...table.values()].map((r) => r.implemented)).toEqual([true, true]);
    });

    it('marks a method the implementation inherits from its contract as not implemented', () => {
      const table = buildRouteTable([new HalfGreeter()]);
      expect(route(table, '/greet').implemented).toBe(true);
      expect(route(table, '/count').implemented).toBe(false);
    });

    it('takes every method of a contract class served as itself as implemented', () => {
      const table = buildRouteTable([new Defaults()]);
      expect([...table.values()].every((r) => r.implemented)).toBe(true);
    });
  });

  describe('inherited bodies', () => {
    it('turns a stub() error into one that names the class, the method and the route', () => {
      const half = new HalfGreeter();
      const count = route(buildRouteTable([half]), '/count');
      let thrown: unknown;
      try {
        count.handler.apply(half, []);
      } catch (error) {
        thrown = error;
      }
      expect(PluginError.is(thrown, 'PLUGWIRE_STUB')).toBe(true);
      expect((thrown as Error).message).toBe(
        `HalfGreeter does not implement ${describeRoute(count.definition)}: override it in the class passed to serve()`,
      );
      expect((thrown as Error).message).toContain('Greeter.count (route /count)');
    });

    it('does the same for a stub() inside an async body', async () => {
      const impl = new DefaultsImpl();
      const entry = route(buildRouteTable([impl]), '/async-stub');
      const error = await rejection(entry.handler.apply(impl, []));
      expect(PluginError.is(error, 'PLUGWIRE_STUB')).toBe(true);
      expect((error as Error).message).toBe('DefaultsImpl does not implement Defaults.asyncStub (route /async-stub): override it in the class passed to serve()');
    });

    it("runs a contract's default body and gives its value", async () => {
      const impl = new DefaultsImpl();
      const table = buildRouteTable([impl]);
      expect(route(table, '/sync-default').implemented).toBe(false);
      expect(route(table, '/sync-default').handler.apply(impl, [])).toBe('default');
      await expect(route(table, '/async-default').handler.apply(impl, [])).resolves.toBe('async default');
    });

    it("leaves any other error of the contract's body as it is", () => {
      const impl = new DefaultsImpl();
      const entry = route(buildRouteTable([impl]), '/own-error');
      expect(() => entry.handler.apply(impl, [])).toThrow(new RangeError('out of range'));
    });
  });

  describe('errors', () => {
    it('needs at least one implementation', () => {
      expect(definitionError(() => buildRouteTable([])).message).toBe('serve() needs at least one plugin implementation');
    });

    it('takes instances only', () => {
      expect(definitionError(() => buildRouteTable([null as unknown as object])).message).toBe('serve() takes instances of decorated classes, got null');
      expect(definitionError(() => buildRouteTable([42 as unknown as object])).message).toBe('serve() takes instances of decorated classes, got number');
      expect(definitionError(() => buildRouteTable(['x' as unknown as object])).message).toBe('serve() takes instances of decorated classes, got string');
    });

    it('refuses an instance of a class without @Method() routes, naming it', () => {
      const { message } = definitionError(() => buildRouteTable([new Undecorated()]));
      expect(message).toContain('Undecorated has no @Method() routes (serve())');
    });

    it('refuses a route served twice, naming both plugins', () => {
      const { message } = definitionError(() => buildRouteTable([new GreeterImpl(), new RivalImpl()]));
      expect(message).toBe("route '/greet' is served twice: by greeter and by rival");
    });

    it('refuses the same implementation twice', () => {
      const impl = new EchoImpl();
      expect(definitionError(() => buildRouteTable([impl, impl])).message).toBe("route '/echo' is served twice: by echo and by echo");
    });

    it('refuses an instance whose route method was replaced by something not callable', () => {
      const impl = new EchoImpl();
      Object.defineProperty(impl, 'echo', { value: 'not a function' });
      expect(definitionError(() => buildRouteTable([impl])).message).toBe('EchoImpl.echo (route /echo) is not a method on the instance');
    });
  });
});
