import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DefinitionError, Method, Plugin, PluginError, serve, stub, type MethodDefinition, type MethodOptions, type PluginServer } from '../../lib';
import { readMethods } from '../../lib/metadata/reflection-helpers';
import { buildRouteTable } from '../../lib/server/route-table';
import { ServerAddress, ServerPerson } from '../fixtures/contracts/server-dtos';
import { defineImportTypeContract } from '../fixtures/contracts/server-import-type';
import { rawRequest } from '../support/raw-http';
import { thrownBy } from '../support/host-helpers';

const WARNING_FIXTURE = path.join(__dirname, '../../dist/spec/fixtures/server/server-import-type-warning.js');

/** The routes of a class as route → method name, in declaration order. */
function routesOf(target: object): Record<string, string> {
  return Object.fromEntries([...(readMethods(target) ?? new Map<string, MethodDefinition>())].map(([route, d]) => [route, d.propertyKey]));
}

interface ProcessWarning {
  name: string;
  code: string | undefined;
  message: string;
}

/** Runs the compiled warning fixture and returns the process warnings it saw. */
function warningsOfImportTypeContract(): Promise<ProcessWarning[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [WARNING_FIXTURE], { timeout: 10_000 }, (error, stdout) => {
      if (error) return reject(new Error(`the warning fixture failed: ${error.message}`));
      try {
        resolve(JSON.parse(stdout) as ProcessWarning[]);
      } catch {
        reject(new Error(`the warning fixture printed no JSON: ${stdout}`));
      }
    });
  });
}

@Plugin('modifier')
class Modifier {
  @Method('/modify')
  modify(value: string): Promise<string> {
    return stub(value);
  }

  @Method('/greet', { returns: ServerAddress, idempotent: false, validator: { whitelist: true } })
  greet(person: ServerPerson): Promise<ServerAddress> {
    return stub(person);
  }

  @Method('/join', { returns: [ServerAddress], validate: false })
  join(values: string[], separator: string, times: number, when: Date, loud: boolean): Promise<ServerAddress[]> {
    return stub(values, separator, times, when, loud);
  }

  /** Not decorated: not a route. */
  helper(): string {
    return 'helper';
  }
}

class ModifierImpl extends Modifier {
  override async modify(value: string): Promise<string> {
    return `${value} decorated`;
  }

  /** Not decorated either. */
  extra(): string {
    return 'extra';
  }
}

describe('@Method()', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('metadata read into a route table', () => {
    it('records the route, the method name, the declaring class and the parameter kinds', () => {
      const table = buildRouteTable([new ModifierImpl()]);
      expect([...table.keys()]).toEqual(['/modify', '/greet', '/join']);

      const modify = table.get('/modify')?.definition;
      expect(modify).toMatchObject({ route: '/modify', propertyKey: 'modify', declaringClass: Modifier, returns: undefined, returnsArray: false });
      expect(modify?.params).toEqual([{ index: 0, kind: 'string', type: String }]);

      const join = table.get('/join')?.definition;
      expect(join?.params.map((p) => p.kind)).toEqual(['array', 'string', 'number', 'date', 'boolean']);
      expect(table.get('/greet')?.definition.params).toEqual([{ index: 0, kind: 'class', type: ServerPerson }]);
    });

    it('records the defaults: idempotent, validated, no validator options, no result class', () => {
      const modify = readMethods(Modifier)?.get('/modify');
      expect(modify).toMatchObject({ idempotent: true, validate: true, validator: undefined, returns: undefined, returnsArray: false });
    });

    it('records returns (a class or [class]), idempotent, validate and validator options', () => {
      const methods = readMethods(Modifier);
      expect(methods?.get('/greet')).toMatchObject({ returns: ServerAddress, returnsArray: false, idempotent: false, validate: true, validator: { whitelist: true } });
      expect(methods?.get('/join')).toMatchObject({ returns: ServerAddress, returnsArray: true, validate: false });
    });

    it('uses the implementation instance as handler target, so overrides run', async () => {
      const impl = new ModifierImpl();
      const route = buildRouteTable([impl]).get('/modify');
      expect(route?.target).toBe(impl);
      expect(route?.plugin).toBe('modifier');
      await expect(route?.handler.apply(route.target, ['x'])).resolves.toBe('x decorated');
    });

    it('makes only decorated methods routes, never helpers of the contract or the implementation', () => {
      const definitions = [...buildRouteTable([new ModifierImpl()]).values()].map((r) => r.definition.propertyKey);
      expect(definitions).not.toContain('helper');
      expect(definitions).not.toContain('extra');
      expect(definitions).not.toContain('constructor');
    });

    it('rejects a returns option that is not a class', () => {
      const error = thrownBy(() => {
        class BadReturns {
          @Method('/r', { returns: 'Address' as unknown as typeof ServerAddress })
          r(): Promise<unknown> {
            return stub();
          }
        }
        return BadReturns;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('BadReturns.r');
    });
  });

  describe('inheritance', () => {
    @Plugin()
    class Base {
      @Method('/a')
      a(): Promise<string> {
        return stub();
      }

      @Method('/b')
      b(): Promise<string> {
        return stub();
      }
    }

    class Child extends Base {
      @Method('/c')
      c(): Promise<string> {
        return stub();
      }

      override async a(): Promise<string> {
        return 'child a';
      }
    }

    class GrandChild extends Child {
      @Method('/d')
      d(): Promise<string> {
        return stub();
      }

      override async b(): Promise<string> {
        return 'grandchild b';
      }
    }

    class Rerouted extends Base {
      @Method('/b2')
      override async b(): Promise<string> {
        return 'rerouted b';
      }
    }

    class SameRoute extends Base {
      @Method('/a', { idempotent: false })
      override async a(): Promise<string> {
        return 'same route a';
      }
    }

    it('lets an implementation inherit the contract routes, served by its overrides', async () => {
      const table = buildRouteTable([new Child()]);
      expect([...table.keys()].sort()).toEqual(['/a', '/b', '/c']);
      expect(table.get('/a')?.definition.declaringClass).toBe(Base);
      const a = table.get('/a');
      await expect(a?.handler.apply(a.target, [])).resolves.toBe('child a');
    });

    it('gives a subclass of a subclass every route up the chain', async () => {
      expect(routesOf(GrandChild)).toEqual({ '/a': 'a', '/b': 'b', '/c': 'c', '/d': 'd' });
      const table = buildRouteTable([new GrandChild()]);
      const a = table.get('/a');
      const b = table.get('/b');
      await expect(a?.handler.apply(a.target, [])).resolves.toBe('child a');
      await expect(b?.handler.apply(b.target, [])).resolves.toBe('grandchild b');
      expect(table.get('/c')?.definition.declaringClass).toBe(Child);
      expect(table.get('/d')?.definition.declaringClass).toBe(GrandChild);
    });

    it('leaves the parent routes unchanged when a subclass adds a route', () => {
      expect(routesOf(Base)).toEqual({ '/a': 'a', '/b': 'b' });
      expect(routesOf(Child)).toEqual({ '/a': 'a', '/b': 'b', '/c': 'c' });
      expect(readMethods(Base)).not.toBe(readMethods(Child));
    });

    it('replaces the inherited route of an override that is decorated with another route', async () => {
      expect(routesOf(Rerouted)).toEqual({ '/a': 'a', '/b2': 'b' });
      const table = buildRouteTable([new Rerouted()]);
      expect(table.has('/b')).toBe(false);
      const b2 = table.get('/b2');
      expect(b2?.definition.declaringClass).toBe(Rerouted);
      await expect(b2?.handler.apply(b2.target, [])).resolves.toBe('rerouted b');
      // the contract keeps its own route
      expect(routesOf(Base)).toEqual({ '/a': 'a', '/b': 'b' });
    });

    it('lets an override re-declare the same route with its own options', () => {
      const a = readMethods(SameRoute)?.get('/a');
      expect(a).toMatchObject({ declaringClass: SameRoute, idempotent: false });
      expect(readMethods(Base)?.get('/a')).toMatchObject({ declaringClass: Base, idempotent: true });
    });

    it('inherits the @Plugin() name of the contract', () => {
      expect(buildRouteTable([new GrandChild()]).get('/d')?.plugin).toBe('Base');
    });
  });

  describe('duplicate routes', () => {
    it('fails at decoration time for two methods of one class, naming both', () => {
      const error = thrownBy(() => {
        class Twice {
          @Method('/same')
          first(): Promise<void> {
            return stub();
          }

          @Method('/same')
          second(): Promise<void> {
            return stub();
          }
        }
        return Twice;
      });
      expect(error).toBeInstanceOf(DefinitionError);
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain("'/same'");
      expect((error as Error).message).toContain('Twice.first');
      expect((error as Error).message).toContain('Twice.second');
    });

    it('fails at decoration time for a child method that takes a route of its parent, naming both', () => {
      class Parent {
        @Method('/taken')
        original(): Promise<void> {
          return stub();
        }
      }
      const error = thrownBy(() => {
        class Usurper extends Parent {
          @Method('/taken')
          other(): Promise<void> {
            return stub();
          }
        }
        return Usurper;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('Parent.original');
      expect((error as Error).message).toContain('Usurper.other');
      expect(routesOf(Parent)).toEqual({ '/taken': 'original' });
    });
  });

  describe('routes', () => {
    it.each<[string, unknown]>([
      ['no leading slash', 'modify'],
      ['a space', '/mod ify'],
      ['a tab', '/mod\tify'],
      ['a query', '/modify?x=1'],
      ['a fragment', '/modify#top'],
      ['an empty string', ''],
      ['a number', 42],
      ['undefined', undefined],
      ['null', null],
      ['a non-ASCII character', '/modifé'],
      ['a broken percent escape', '/a%2'],
    ])('refuses a route with %s at decoration time', (_what, route) => {
      const error = thrownBy(() => {
        class BadRoute {
          @Method(route as string)
          m(): Promise<void> {
            return stub();
          }
        }
        return BadRoute;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('invalid route');
      expect(message).toContain('BadRoute.m');
      expect(message).toContain("starting with '/'");
    });

    it.each(['/.plugwire', '/.plugwire/health', '/.plugwire/'])('refuses the reserved route %s', (route) => {
      const error = thrownBy(() => {
        class Reserved {
          @Method(route)
          m(): Promise<void> {
            return stub();
          }
        }
        return Reserved;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('reserved');
      expect((error as Error).message).toContain('Reserved.m');
    });

    it.each(['/', '/modify', '/v1/people/search', '/a-b_c.d~e', '/x:y@z', '/%20encoded', "/sub!$&'()*+,;="])('accepts the route %s', (route) => {
      class Fine {
        @Method(route)
        m(): Promise<void> {
          return stub();
        }
      }
      expect(routesOf(Fine)).toEqual({ [route]: 'm' });
    });
  });

  describe('members that cannot be routes', () => {
    it('refuses a getter', () => {
      const error = thrownBy(() => {
        class WithGetter {
          @Method('/getter')
          get value(): string {
            return 'v';
          }
        }
        return WithGetter;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('WithGetter.value');
      expect((error as Error).message).toMatch(/accessor/);
    });

    it('refuses a setter', () => {
      const error = thrownBy(() => {
        class WithSetter {
          @Method('/setter')
          set value(_v: string) {
            // nothing
          }
        }
        return WithSetter;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('WithSetter.value');
    });

    it('refuses a static method, naming the class and the member', () => {
      const error = thrownBy(() => {
        class WithStatic {
          @Method('/static')
          static create(): Promise<void> {
            return stub();
          }
        }
        return WithStatic;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      // A legacy decorator on a real static member (not a standard decorator's context object).
      expect((error as Error).message).toBe('@Method() on static member WithStatic.create: only instance methods can be routes');
    });

    it('refuses a static getter', () => {
      const error = thrownBy(() => {
        class WithStaticGetter {
          @Method('/static-getter')
          static get instance(): string {
            return 'i';
          }
        }
        return WithStaticGetter;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    });
  });

  describe('parameters whose design type is Object', () => {
    interface Shape {
      side: number;
    }

    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('warns with code PLUGWIRE_UNTYPED_PARAMETER by default, naming the method and parameter', () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      class Untyped {
        @Method('/area')
        area(_label: string, shape: Shape): Promise<number> {
          return stub(shape);
        }
      }
      expect(routesOf(Untyped)).toEqual({ '/area': 'area' });
      expect(emitWarning).toHaveBeenCalledTimes(1);
      const [message, options] = emitWarning.mock.calls[0] ?? [];
      expect(options).toMatchObject({ code: 'PLUGWIRE_UNTYPED_PARAMETER' });
      expect(String(message)).toContain('parameter 1 of Untyped.area');
      expect(String(message)).toContain('import type');
    });

    it('throws PLUGWIRE_DEFINITION with validate: true', () => {
      const error = thrownBy(() => {
        class Strict {
          @Method('/area', { validate: true })
          area(shape: Shape): Promise<number> {
            return stub(shape);
          }
        }
        return Strict;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('Strict.area');
      expect((error as Error).message).toContain('Object');
    });

    it('stays quiet with validate: false or with params', () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      class Quiet {
        @Method('/off', { validate: false })
        off(shape: Shape): Promise<number> {
          return stub(shape);
        }

        @Method('/named', { params: [ServerPerson] })
        named(shape: Shape): Promise<number> {
          return stub(shape);
        }
      }
      expect(emitWarning).not.toHaveBeenCalled();
      expect(readMethods(Quiet)?.get('/named')?.params).toEqual([{ index: 0, kind: 'class', type: ServerPerson }]);
    });
  });

  describe('an array of a class in params', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('records [Class] as an array parameter whose items are of that class, beside plain classes', () => {
      class Bulk {
        @Method('/bulk', { params: [[ServerPerson], String] })
        bulk(people: ServerPerson[], note: string): Promise<number> {
          return stub(people, note);
        }

        @Method('/dates', { params: [[Date], [String]] })
        dates(dates: Date[], names: string[]): Promise<number> {
          return stub(dates, names);
        }
      }
      expect(readMethods(Bulk)?.get('/bulk')?.params).toEqual([
        { index: 0, kind: 'array', type: Array, items: { kind: 'class', type: ServerPerson } },
        { index: 1, kind: 'string', type: String },
      ]);
      expect(readMethods(Bulk)?.get('/dates')?.params).toEqual([
        { index: 0, kind: 'array', type: Array, items: { kind: 'date', type: Date } },
        { index: 1, kind: 'array', type: Array, items: { kind: 'string', type: String } },
      ]);
    });

    // What TypeScript refuses too: each is a compile error, and a DefinitionError for JavaScript.
    const malformed: Array<[string, MethodOptions['params'], string]> = [
      // @ts-expect-error -- two classes in one entry
      ['two classes', [[ServerPerson, ServerAddress]], '[ServerPerson, ServerAddress]'],
      // @ts-expect-error -- no class
      ['an empty array', [[]], '[]'],
      // @ts-expect-error -- a name, not a class
      ['a string', [['ServerPerson']], '["ServerPerson"]'],
      // @ts-expect-error -- an array of arrays
      ['an array of arrays', [[[ServerPerson]]], '[[ServerPerson]]'],
      // @ts-expect-error -- a name, not a class or [Class]
      ['a string instead of a class', ['ServerPerson'], '"ServerPerson"'],
      // @ts-expect-error -- nothing
      ['null instead of a class', [null], 'null'],
    ];

    it.each(malformed)('refuses an entry with %s, saying what to write', (_what, params, shown) => {
      const error = thrownBy(() => {
        class Malformed {
          @Method('/bulk', { params })
          bulk(people: ServerPerson[]): Promise<number> {
            return stub(people);
          }
        }
        return Malformed;
      });
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toBe(
        `@Method() on Malformed.bulk: params[0] is ${shown}; an entry of 'params' is a class, or [Class] for an array of them (params: [[Item]] for items: Item[])`,
      );
    });

    it('refuses params that is not an array', () => {
      const error = thrownBy(() => {
        class NotAnArray {
          @Method('/bulk', { params: ServerPerson as never })
          bulk(people: ServerPerson[]): Promise<number> {
            return stub(people);
          }
        }
        return NotAnArray;
      });
      expect((error as Error).message).toBe("@Method() on NotAnArray.bulk: 'params' must be an array of classes or [Class], got ServerPerson");
    });

    it('takes options kept in a constant with as const, [Item] in returns too', () => {
      const options = { params: [[ServerPerson], String], returns: [ServerAddress] } as const;
      class Shared {
        @Method('/bulk', options)
        bulk(people: ServerPerson[], note: string): Promise<ServerAddress[]> {
          return stub(people, note);
        }
      }
      const definition = readMethods(Shared)?.get('/bulk');
      expect(definition?.params[0]).toEqual({ index: 0, kind: 'array', type: Array, items: { kind: 'class', type: ServerPerson } });
      expect([definition?.returns, definition?.returnsArray]).toEqual([ServerAddress, true]);
    });

    it('refuses a returns option of two classes', () => {
      const error = thrownBy(() => {
        class BadReturns {
          // @ts-expect-error -- [Class] takes one class
          @Method('/r', { returns: [ServerPerson, ServerAddress] })
          r(): Promise<unknown> {
            return stub();
          }
        }
        return BadReturns;
      });
      expect((error as Error).message).toBe("@Method() on BadReturns.r: 'returns' must be a class or [Class], got [ServerPerson, ServerAddress]");
    });

    it('does not warn for an array parameter without params, whose items it cannot know', () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      class Emitted {
        @Method('/bulk')
        bulk(people: ServerPerson[], names: string[]): Promise<number> {
          return stub(people, names);
        }
      }
      expect(readMethods(Emitted)?.get('/bulk')?.params).toEqual([
        { index: 0, kind: 'array', type: Array },
        { index: 1, kind: 'array', type: Array },
      ]);
      expect(emitWarning).not.toHaveBeenCalled();
    });
  });

  describe('a DTO imported with `import type` in a contract', () => {
    it('makes TypeScript emit a design type that is not the DTO class', () => {
      jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const contract = defineImportTypeContract({ validate: false });
        const emitted = Reflect.getMetadata('design:paramtypes', contract.prototype as object, 'register') as unknown[];
        expect(emitted).toHaveLength(1);
        expect(emitted[0]).not.toBe(ServerPerson);
        expect([Object, Function]).toContain(emitted[0]);
      } finally {
        jest.restoreAllMocks();
      }
    });

    it('emits a process warning with code PLUGWIRE_UNTYPED_PARAMETER with default options', async () => {
      // process.on('warning') does not see warnings inside the jest sandbox: the fixture process listens.
      const warnings = await warningsOfImportTypeContract();
      expect(warnings).toEqual([
        expect.objectContaining({ code: 'PLUGWIRE_UNTYPED_PARAMETER', message: expect.stringContaining('ImportTypeContract.register') }),
      ]);
    });

    it('throws PLUGWIRE_DEFINITION with validate: true', () => {
      const error = thrownBy(() => defineImportTypeContract({ validate: true }));
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('ImportTypeContract.register');
    });

    describe('with params: [Dto]', () => {
      let server: PluginServer;
      let received: unknown[];

      beforeAll(async () => {
        received = [];
        const Contract = defineImportTypeContract({ params: [ServerPerson] });
        class Registry extends Contract {
          override async register(person: ServerPerson): Promise<string> {
            received.push(person);
            return person.describe();
          }
        }
        server = await serve(new Registry(), { socket: path.join(dir, 'import-type.sock'), standalone: false, announce: false });
      });

      afterAll(async () => {
        await server.close();
      });

      it('converts the payload into the DTO class', async () => {
        const res = await rawRequest(server.socket, { path: '/register', body: JSON.stringify({ Payload: { name: 'Ann', age: 33 } }) });
        expect(res).toMatchObject({ status: 200, body: '"Ann (33)"\n' });
        expect(received.at(-1)).toBeInstanceOf(ServerPerson);
      });

      it('validates the payload: an invalid DTO gets 422 and the method does not run', async () => {
        const before = received.length;
        const res = await rawRequest(server.socket, { path: '/register', body: JSON.stringify({ Payload: { name: '', age: -1 } }) });
        expect(res.status).toBe(422);
        const message = JSON.parse(res.body) as string;
        expect(message).toContain('name');
        expect(message).toContain('age');
        expect(received).toHaveLength(before);
      });
    });
  });
});
