// Plain data converts whatever its keys are called: a DTO field of free-form data holding
// "constructor" or "__proto__" keys, sent by curl (as a Go host would) and by a host.
import fc from 'fast-check';
import { connect, type Connection } from '../../lib';
import { plainToInstance, toJsonValue } from '../../lib/conversion/transformer';
import { AttackConv, Labelled } from '../fixtures/conversion/attack-conv-contract';
import { curlPost, startConvPlugin, type ConvPlugin } from '../fixtures/conversion/attack-conv-process';
import { fixtureStarter } from '../support/host-helpers';

/** Labels as JSON.parse makes them: own "constructor" and "__proto__" keys, nested too. */
const LABELS_JSON = '{"\\u0000plugwire:constructor":"e","constructor":"x","__proto__":"y","toString":"z","nested":{"constructor":{"constructor":"deep"}},"list":[{"constructor":"a"},{"__proto__":{"b":1}}]}';

function labels(): Record<string, unknown> {
  return JSON.parse(LABELS_JSON) as Record<string, unknown>;
}

describe('a DTO field of plain data with "constructor" and "__proto__" keys, in a plugin', () => {
  let plugin: ConvPlugin;

  beforeAll(async () => {
    plugin = await startConvPlugin();
  });

  afterAll(async () => {
    await plugin.stop();
  });

  it('is accepted and reaches the method with every key, as own data', async () => {
    const answer = await curlPost(plugin.socket, '/labelsText', `{"Context":{"Deadline":null},"Payload":{"name":"n","labels":${LABELS_JSON}}}`);
    expect(answer.status).toBe(200);
    const seen = JSON.parse(JSON.parse(answer.body) as string) as { name: string; labels: unknown; own: string[] };
    expect(seen.name).toBe('n');
    expect(seen.own).toEqual(['\u0000plugwire:constructor', 'constructor', '__proto__', 'toString', 'nested', 'list']);
    expect(JSON.stringify(seen.labels)).toBe(LABELS_JSON);
  });

  it('is answered back as it came when the method returns it in a DTO', async () => {
    const answer = await curlPost(plugin.socket, '/labels', `{"Context":{"Deadline":null},"Payload":{"name":"n","labels":${LABELS_JSON}}}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(`{"name":"n","labels":${LABELS_JSON}}\n`);
  });

  it('does not let a "constructor" key of the DTO itself change what it is', async () => {
    const answer = await curlPost(plugin.socket, '/labelsText', '{"Payload":{"name":"n","constructor":"Object","__proto__":{"x":1},"toString":"t","labels":{}}}');
    expect(answer.status).toBe(200);
    expect(JSON.parse(JSON.parse(answer.body) as string)).toEqual({ name: 'n', labels: {}, own: [], fields: ['name', 'labels'], class: 'Labelled' });
  });
});

describe('a DTO field of plain data with "constructor" and "__proto__" keys, from a host', () => {
  let connection: Connection<AttackConv>;

  beforeAll(async () => {
    connection = await connect(AttackConv, fixtureStarter('conversion/attack-conv-plugin').starter);
  });

  afterAll(async () => {
    await connection.term();
  });

  it('is sent, received and answered with every key', async () => {
    const sent = Object.assign(new Labelled(), { name: 'n', labels: labels() });
    const back = await connection.plugin.labels(sent);
    expect(back).toBeInstanceOf(Labelled);
    expect(JSON.stringify(back.labels)).toBe(LABELS_JSON);
    expect(Object.getPrototypeOf(back.labels)).toBe(Object.prototype);
    // What the caller passed is left as it was.
    expect(JSON.stringify(sent.labels)).toBe(LABELS_JSON);
  });

  it('is sent from a plain object too', async () => {
    const text = await connection.plugin.labelsText({ name: 'n', labels: labels() });
    expect(JSON.stringify((JSON.parse(text) as { labels: unknown }).labels)).toBe(LABELS_JSON);
  });
});

describe('plain data of any keys, converted in process', () => {
  const keyArb = fc.oneof(fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', '\u0000plugwire:x', '\u0000plugwire:constructor', 'id'), fc.string({ maxLength: 4 }));
  const dataArb = fc.json({ depthSize: 'small' }).map((text) => JSON.parse(text) as unknown);
  // JSON text with keys from the pool at every level, parsed as a plugin parses a payload.
  const labelsArb = fc
    .dictionary(keyArb, fc.oneof(dataArb, fc.dictionary(keyArb, dataArb, { maxKeys: 4 }), fc.array(fc.dictionary(keyArb, dataArb, { maxKeys: 3 }), { maxLength: 3 })), { maxKeys: 6 })
    .map((labels) => JSON.stringify(labels));

  it('comes out of plainToInstance() and toJsonValue() with the same JSON it went in with', () => {
    fc.assert(
      fc.property(labelsArb, (text) => {
        const parsed = JSON.parse(`{"name":"n","labels":${text}}`) as object;
        const instance = plainToInstance(Labelled, parsed) as Labelled;
        expect(instance).toBeInstanceOf(Labelled);
        expect(JSON.stringify(instance.labels)).toBe(text);
        expect(JSON.stringify(toJsonValue(instance))).toBe(`{"name":"n","labels":${text}}`);
        expect(Object.prototype.hasOwnProperty.call(instance, 'constructor')).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
