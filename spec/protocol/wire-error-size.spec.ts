// What a method throws reaches the host within a bound: its name, message and string code
// cut at MAX_ERROR_TEXT with a marker, its details left out when their JSON is longer, so
// that the answer stays below a host's maxResponseSize and arrives as PLUGWIRE_REMOTE.
import { ErrorStatus } from '../../lib/errors/error-codes';
import { PluginError, RemoteError } from '../../lib/errors/plugin-error';
import { cutText, encodeWireError, fromWireError, MAX_ERROR_TEXT, toWireError } from '../../lib/protocol/wire-error';

const HUGE = 17 * 1024 * 1024;

/** What a host makes of the answer to an error a method threw. */
function received(thrown: unknown, structured = true): { error: PluginError; bodySize: number } {
  const body = encodeWireError(toWireError(thrown), structured);
  return { error: fromWireError(ErrorStatus.PLUGWIRE_REMOTE, body, structured, '/route'), bodySize: Buffer.byteLength(body) };
}

describe('cutText()', () => {
  it('keeps a text up to MAX_ERROR_TEXT as it is', () => {
    const text = 'x'.repeat(MAX_ERROR_TEXT);
    expect(cutText(text)).toBe(text);
  });

  it('cuts a longer text to its start and says how much was cut', () => {
    expect(cutText('y'.repeat(MAX_ERROR_TEXT + 5))).toBe(`${'y'.repeat(MAX_ERROR_TEXT)}… (5 more characters cut)`);
  });

  it('does not cut between the halves of a surrogate pair', () => {
    const text = `${'a'.repeat(MAX_ERROR_TEXT - 1)}😀tail`;
    expect(cutText(text)).toBe(`${'a'.repeat(MAX_ERROR_TEXT - 1)}… (6 more characters cut)`);
  });
});

describe('an error a method throws, larger than a host takes', () => {
  it('reaches the host as PLUGWIRE_REMOTE with the start of its message, its name and code cut, its details left out', () => {
    const thrown = Object.assign(new Error(`start ${'m'.repeat(HUGE)}`), { name: 'n'.repeat(HUGE), code: 'c'.repeat(HUGE), details: { text: 'd'.repeat(HUGE) } });
    const { error, bodySize } = received(thrown);
    expect(error).toBeInstanceOf(RemoteError);
    const { remote } = error as RemoteError;
    expect(remote.message).toBe(`start ${'m'.repeat(MAX_ERROR_TEXT - 6)}… (${HUGE + 6 - MAX_ERROR_TEXT} more characters cut)`);
    expect(error.message).toBe(remote.message);
    expect(remote.name).toBe(cutText('n'.repeat(HUGE)));
    expect(remote.code).toBe(cutText('c'.repeat(HUGE)));
    expect(remote.details).toBeUndefined();
    expect(bodySize).toBeLessThan(1024 * 1024);
  });

  it('sends a version 1 host the cut message', () => {
    const { error, bodySize } = received(new Error('v'.repeat(HUGE)), false);
    expect((error as RemoteError).remote.message).toBe(cutText('v'.repeat(HUGE)));
    expect(bodySize).toBeLessThan(MAX_ERROR_TEXT + 100);
  });

  it('cuts a thrown string, and a value that is not an Error', () => {
    expect((received('s'.repeat(HUGE)).error as RemoteError).remote.message).toBe(cutText('s'.repeat(HUGE)));
    expect((received(['a'.repeat(HUGE)]).error as RemoteError).remote.message).toBe(cutText(`non-error value thrown: ${JSON.stringify(['a'.repeat(HUGE)])}`));
  });

  it('cuts a RemoteError of a call the method made and let through', () => {
    const forwarded = new RemoteError({ name: 'GoError', message: 'g'.repeat(HUGE), code: 7, details: { text: 'd'.repeat(HUGE) } }, 500, { route: '/inner' });
    expect((received(forwarded).error as RemoteError).remote).toEqual({ name: 'GoError', message: cutText('g'.repeat(HUGE)), code: 7 });
  });

  it('keeps an error within the bound as it is, details included', () => {
    const thrown = Object.assign(new Error('m'.repeat(MAX_ERROR_TEXT)), { code: 'E_X', details: { text: 'd'.repeat(MAX_ERROR_TEXT - 20) } });
    expect((received(thrown).error as RemoteError).remote).toEqual({ name: 'Error', message: 'm'.repeat(MAX_ERROR_TEXT), code: 'E_X', details: { text: 'd'.repeat(MAX_ERROR_TEXT - 20) } });
  });
});
