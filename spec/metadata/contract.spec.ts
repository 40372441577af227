// One reader of a contract: routes by route and by name, the plugin's name, and the one error
// for a class without routes, naming who asked.
import { Method, Plugin, stub } from '../../lib';
import { readContract } from '../../lib/metadata/contract';
import { thrownBy } from '../support/host-helpers';

@Plugin('greeter')
class Greeter {
  @Method('/hello')
  hello(name: string): Promise<string> {
    return stub(name);
  }

  @Method('/bye')
  bye(): Promise<void> {
    return stub();
  }
}

class GreeterImpl extends Greeter {
  override hello(name: string): Promise<string> {
    return Promise.resolve(`hello ${name}`);
  }
}

class Unnamed {
  @Method('/x')
  x(): Promise<void> {
    return stub();
  }
}

class Empty {}


describe('readContract', () => {
  it('reads the routes by route and by name, and the plugin name', () => {
    const contract = readContract(Greeter, 'test');
    expect(contract.type).toBe(Greeter);
    expect(contract.name).toBe('greeter');
    expect([...contract.byRoute.keys()]).toEqual(['/hello', '/bye']);
    expect(contract.byName.get('hello')?.route).toBe('/hello');
    expect(contract.byName.get('bye')?.route).toBe('/bye');
  });

  it('reads an implementation as its contract, and a class without @Plugin() by its class name', () => {
    expect(readContract(GreeterImpl, 'test')).toMatchObject({ name: 'greeter', type: GreeterImpl });
    expect(readContract(GreeterImpl, 'test').byRoute.size).toBe(2);
    expect(readContract(Unnamed, 'test').name).toBe('Unnamed');
  });

  it('refuses a class without routes with one message that names who asked', () => {
    expect(thrownBy(() => readContract(Empty, 'createProxy()'))).toMatchObject({ code: 'PLUGWIRE_DEFINITION', message: expect.stringMatching(/^Empty has no @Method\(\) routes \(createProxy\(\)\): a contract is a @Plugin\(\) class/) });
  });
});
