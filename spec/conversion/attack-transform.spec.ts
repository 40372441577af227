// A @Transform that throws, in a real plugin process called with curl and with a host:
// the answer is a 422 whose body is a JSON string with the reason, as the protocol says.
import { connect, PayloadValidationError, PluginError, type Connection } from '../../lib';
import { AttackConv } from '../fixtures/conversion/attack-conv-contract';
import { curlPost, envelopeOf, startConvPlugin, type ConvPlugin } from '../fixtures/conversion/attack-conv-process';
import { fixtureStarter, rejectionOf } from '../support/host-helpers';

describe('a @Transform that throws while a plugin converts the payload', () => {
  let plugin: ConvPlugin;

  beforeAll(async () => {
    plugin = await startConvPlugin();
  });

  afterAll(async () => {
    await plugin.stop();
  });

  it.each([
    ['a string', 'bad', 'no bad words'],
    ['an Error', 'worse', 'worse is not a word'],
  ])('throwing %s: a Go host gets 422 with a JSON string that says why', async (_what, word, reason) => {
    const answer = await curlPost(plugin.socket, '/shout', envelopeOf({ word }));
    expect(answer.status).toBe(422);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const message = JSON.parse(answer.body) as unknown;
    expect(typeof message).toBe('string');
    expect(message).toBe(`invalid payload for /shout: (payload): cannot be converted: ${reason}`);
  });

  it('a plugwire host gets the structured validation error with a violation', async () => {
    const answer = await curlPost(plugin.socket, '/shout', envelopeOf({ word: 'bad' }), ['X-Plugwire-Version: 1']);
    expect(answer.status).toBe(422);
    expect(answer.headers['x-plugwire-error']).toBe('1');
    expect(JSON.parse(JSON.parse(answer.body) as string)).toEqual({
      code: 'PLUGWIRE_VALIDATION',
      message: 'invalid payload for /shout: (payload): cannot be converted: no bad words',
      violations: [{ path: '(payload)', constraints: { conversion: 'cannot be converted: no bad words' } }],
    });
  });

  it('converts a word it does not refuse', async () => {
    const answer = await curlPost(plugin.socket, '/shout', envelopeOf({ word: 'fine' }));
    expect(answer).toMatchObject({ status: 200, body: '"FINE"\n' });
  });
});

describe('a @Transform that throws while a host converts the arguments', () => {
  let connection: Connection<AttackConv>;

  beforeAll(async () => {
    connection = await connect(AttackConv, fixtureStarter('conversion/attack-conv-plugin').starter);
  });

  afterAll(async () => {
    await connection.term();
  });

  it('fails the call with a PayloadValidationError of the host side, whatever was thrown', async () => {
    const error = await rejectionOf(connection.plugin.shout({ word: 'bad' }));
    expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect((error as PayloadValidationError).side).toBe('host');
    expect((error as PayloadValidationError).message).toBe('invalid payload for /shout: (payload): cannot be converted: no bad words');
    await expect(connection.plugin.shout({ word: 'fine' })).resolves.toBe('FINE');
  });
});
