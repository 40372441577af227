// A DTO checked asynchronously (@ValidateNested) is sent with the values it had when the
// method was called, like any other argument: a host reusing one instance for several
// calls, or changing it after a call, sends each call's own values, all of them checked.
import { connect, type Connection } from '../../lib';
import { AttackConv, Basket, Fruit } from '../fixtures/conversion/attack-conv-contract';
import { fixtureStarter } from '../support/host-helpers';

function basket(owner: string, fruit: string): Basket {
  return Object.assign(new Basket(), { owner, fruit: Object.assign(new Fruit(), { name: fruit }) });
}

describe('arguments of a call whose DTO is checked asynchronously', () => {
  let connection: Connection<AttackConv>;

  beforeAll(async () => {
    connection = await connect(AttackConv, fixtureStarter('conversion/attack-conv-plugin').starter);
  });

  afterAll(async () => {
    await connection.term();
  });

  it('one instance reused for three calls sends each call its own values', async () => {
    const reused = basket('ann', 'apple');
    const calls: Array<Promise<string>> = [];
    for (const [i, fruit] of ['apple', 'pear', 'plum'].entries()) {
      reused.fruit.name = fruit;
      reused.note = `${i + 1} x ${fruit}`;
      calls.push(connection.plugin.basket(reused, [fruit]));
    }
    const seen = (await Promise.all(calls)).map((text) => JSON.parse(text) as { basket: Basket; tags: string[] });
    expect(seen.map((s) => s.basket.note)).toEqual(['1 x apple', '2 x pear', '3 x plum']);
    expect(seen.map((s) => s.basket.fruit.name)).toEqual(['apple', 'pear', 'plum']);
  });

  it('values changed after the call, in the DTO or in another argument, are not sent', async () => {
    const changed = basket('bob', 'fig');
    const tags = ['ripe'];
    const call = connection.plugin.basket(changed, tags);
    // Not a string: had this been sent, the plugin would refuse it (422), the host never having checked it.
    (changed as unknown as { owner: number }).owner = 42;
    changed.fruit.name = 'changed';
    tags.push('changed');
    expect(JSON.parse(await call)).toEqual({ basket: { owner: 'bob', fruit: { name: 'fig' } }, tags: ['ripe'] });
  });

  it('a DTO invalid at call time fails, even when made valid before the check ends', async () => {
    const invalid = basket('cy', 'kiwi');
    (invalid.fruit as unknown as { name: number }).name = 7;
    const call = connection.plugin.basket(invalid, []);
    invalid.fruit.name = 'kiwi';
    await expect(call).rejects.toMatchObject({ code: 'PLUGWIRE_VALIDATION', side: 'host' });
  });
});
