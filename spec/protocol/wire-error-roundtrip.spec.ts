// A wire error for every code survives the trip a plugin's answer makes: encoded as the
// plugin sends it, read back by the host as the error of the same code, message and fields.
import { ErrorCodes, ErrorStatus, type ErrorCode } from '../../lib/errors/error-codes';
import * as errors from '../../lib/errors/plugin-error';
import { PluginError, RemoteError, type FieldViolation, type RemoteErrorInfo } from '../../lib/errors/plugin-error';
import { encodeWireError, fromWireError, toWireError, type WireError } from '../../lib/protocol/wire-error';

const ROUTE = '/route';
const CODES = Object.keys(ErrorCodes) as ErrorCode[];
const VIOLATIONS: FieldViolation[] = [{ path: 'address.zip', value: 'x', constraints: { isPostalCode: 'zip must be a postal code' } }];
const REMOTE: RemoteErrorInfo = { name: 'RangeError', message: 'out of range', code: 'E_RANGE', details: { limit: 3 } };

/** The class each code stands for, by its name. */
const CLASS_OF: Record<ErrorCode, keyof typeof errors> = {
  PLUGWIRE_REMOTE: 'RemoteError',
  PLUGWIRE_VALIDATION: 'ValidationError',
  PLUGWIRE_METHOD_NOT_FOUND: 'MethodNotFoundError',
  PLUGWIRE_TIMEOUT: 'TimeoutError',
  PLUGWIRE_ABORTED: 'AbortedError',
  PLUGWIRE_START: 'StartError',
  PLUGWIRE_UNAVAILABLE: 'UnavailableError',
  PLUGWIRE_CLOSED: 'ClosedError',
  PLUGWIRE_PROTOCOL: 'ProtocolError',
  PLUGWIRE_DEFINITION: 'DefinitionError',
  PLUGWIRE_CONTRACT: 'ContractError',
  PLUGWIRE_STUB: 'StubError',
  PLUGWIRE_OVERLOADED: 'OverloadedError',
};

function wireOf(code: ErrorCode): WireError {
  const message = `what went wrong (${code})`;
  if (code === 'PLUGWIRE_VALIDATION') return { code, message, violations: VIOLATIONS };
  if (code === 'PLUGWIRE_REMOTE') return { code, message: REMOTE.message, remote: REMOTE };
  return { code, message };
}

/** What the host reads from a body the plugin sent with that status: through JSON both ways, as on a socket. */
function roundTrip(wire: WireError, status: number, structured = true): PluginError {
  const body = Buffer.from(encodeWireError(wire, structured)).toString('utf8');
  return fromWireError(status, body, structured, ROUTE);
}

describe('wire errors to a plugwire host (structured)', () => {
  it.each(CODES)('%s comes back with its code, message, route and fields', (code) => {
    const wire = wireOf(code);
    const error = roundTrip(wire, ErrorStatus[code]);
    expect(error.code).toBe(code);
    expect(error.message).toBe(wire.message);
    expect(error.route).toBe(ROUTE);
    expect(error.status).toBe(ErrorStatus[code]);
    expect(error instanceof (errors[CLASS_OF[code]] as abstract new (...args: never[]) => unknown)).toBe(true);
    if (code === 'PLUGWIRE_VALIDATION') expect(error).toMatchObject({ side: 'plugin', violations: VIOLATIONS });
    if (code === 'PLUGWIRE_REMOTE') expect((error as RemoteError).remote).toEqual(REMOTE);
  });

  it('the body is a JSON string holding the wire error as JSON, and a newline', () => {
    const wire = wireOf('PLUGWIRE_VALIDATION');
    const body = encodeWireError(wire, true);
    expect(body.endsWith('\n')).toBe(true);
    expect(JSON.parse(JSON.parse(body) as string)).toEqual(wire);
  });

  it("a remote error keeps the status a Go-style plugin answered with", () => {
    const error = roundTrip(wireOf('PLUGWIRE_REMOTE'), 503);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.status).toBe(503);
  });
});

describe('wire errors to a version 1 host (the message alone)', () => {
  it.each(CODES)('%s sends its message as a JSON string', (code) => {
    const wire = wireOf(code);
    expect(JSON.parse(encodeWireError(wire, false))).toBe(wire.message);
  });

  it.each([
    [404, 'PLUGWIRE_METHOD_NOT_FOUND'],
    [422, 'PLUGWIRE_VALIDATION'],
    [400, 'PLUGWIRE_PROTOCOL'],
    [413, 'PLUGWIRE_PROTOCOL'],
    [500, 'PLUGWIRE_REMOTE'],
  ] as const)('status %d without the structured mark reads as %s with the same message', (status, code) => {
    const error = roundTrip({ code: 'PLUGWIRE_REMOTE', message: 'plain words' }, status, false);
    expect([error.code, error.message, error.route]).toEqual([code, 'plain words', ROUTE]);
  });
});

describe('an error a plugin method throws', () => {
  const thrown: Error[] = [
    new TypeError('bad type'),
    new errors.ValidationError('inner validation', 'host', VIOLATIONS),
    new errors.MethodNotFoundError('inner not found'),
    new errors.TimeoutError('inner timeout'),
    new errors.AbortedError('inner abort'),
    new errors.StartError('inner start', 'exited'),
    new errors.UnavailableError('inner unavailable'),
    new errors.ClosedError('inner closed'),
    new errors.ProtocolError('inner protocol'),
    new errors.DefinitionError('inner definition'),
    new errors.ContractError('inner contract', ['/x']),
    new errors.StubError('inner stub'),
    new errors.OverloadedError('inner overload'),
  ];

  it('covers every class but RemoteError', () => {
    expect(thrown.slice(1).map((error) => (error as PluginError).code).sort()).toEqual(CODES.filter((code) => code !== 'PLUGWIRE_REMOTE').sort());
  });

  it.each(thrown.map((error) => [error.name, error] as const))('%s reaches the host as PLUGWIRE_REMOTE with its name, message and code', (_name, error) => {
    const back = roundTrip(toWireError(error), ErrorStatus.PLUGWIRE_REMOTE);
    expect(back).toBeInstanceOf(RemoteError);
    const { remote } = back as RemoteError;
    expect(back.message).toBe(error.message);
    expect(remote.name).toBe(error.name);
    expect(remote.message).toBe(error.message);
    expect(remote.code).toBe((error as Partial<PluginError>).code);
  });

  it('a RemoteError the method let through is forwarded as the plugin-side error it holds', () => {
    const back = roundTrip(toWireError(new RemoteError(REMOTE)), 500) as RemoteError;
    expect(back.remote).toEqual(REMOTE);
  });
});
