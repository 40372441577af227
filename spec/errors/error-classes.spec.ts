// Every error class in one table: its name, code and status, the brand that makes
// `instanceof` hold for the errors of a second copy of plugwire, and the deprecated aliases.
import { ErrorCodes, ErrorStatus, type ErrorCode } from '../../lib/errors/error-codes';
import * as errors from '../../lib/errors/plugin-error';
import {
  AbortedError,
  CallAbortedError,
  CallTimeoutError,
  ClosedError,
  ContractError,
  DefinitionError,
  MethodNotFoundError,
  PayloadValidationError,
  PluginError,
  ProtocolError,
  RemoteError,
  StartError,
  StubCalledError,
  StubError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '../../lib/errors/plugin-error';

type ErrorModule = typeof import('../../lib/errors/plugin-error');

/** The error module loaded a second time, as a second installed copy of plugwire would be. */
function secondCopy(): ErrorModule {
  let copy: ErrorModule | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    copy = require('../../lib/errors/plugin-error') as ErrorModule;
  });
  if (!copy) throw new Error('the second copy did not load');
  return copy;
}

type ClassName = 'RemoteError' | 'ValidationError' | 'MethodNotFoundError' | 'TimeoutError' | 'AbortedError' | 'StartError' | 'UnavailableError' | 'ClosedError' | 'ProtocolError' | 'DefinitionError' | 'ContractError' | 'StubError' | 'OverloadedError';

/** One row per class: how to make one with a given module's classes, its code and its status. */
const TABLE: ReadonlyArray<readonly [ClassName, ErrorCode, number, (m: ErrorModule) => PluginError]> = [
  ['RemoteError', 'PLUGWIRE_REMOTE', 500, (m) => new m.RemoteError({ name: 'TypeError', message: 'm' })],
  ['ValidationError', 'PLUGWIRE_VALIDATION', 422, (m) => new m.ValidationError('m', 'host')],
  ['MethodNotFoundError', 'PLUGWIRE_METHOD_NOT_FOUND', 404, (m) => new m.MethodNotFoundError('m')],
  ['TimeoutError', 'PLUGWIRE_TIMEOUT', 504, (m) => new m.TimeoutError('m')],
  ['AbortedError', 'PLUGWIRE_ABORTED', 499, (m) => new m.AbortedError('m')],
  ['StartError', 'PLUGWIRE_START', 503, (m) => new m.StartError('m', 'timeout')],
  ['UnavailableError', 'PLUGWIRE_UNAVAILABLE', 503, (m) => new m.UnavailableError('m')],
  ['ClosedError', 'PLUGWIRE_CLOSED', 503, (m) => new m.ClosedError('m')],
  ['ProtocolError', 'PLUGWIRE_PROTOCOL', 400, (m) => new m.ProtocolError('m')],
  ['DefinitionError', 'PLUGWIRE_DEFINITION', 500, (m) => new m.DefinitionError('m')],
  ['ContractError', 'PLUGWIRE_CONTRACT', 409, (m) => new m.ContractError('m', ['/x'])],
  ['OverloadedError', 'PLUGWIRE_OVERLOADED', 503, (m) => new m.OverloadedError('m')],
  ['StubError', 'PLUGWIRE_STUB', 500, (m) => new m.StubError('m')],
];

const here: ErrorModule = errors;

describe('the error classes', () => {
  it('cover every code once', () => {
    expect(TABLE.map(([, code]) => code).sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  it('ErrorCodes maps each code to itself and ErrorStatus to its HTTP status', () => {
    for (const [, code, status] of TABLE) {
      expect(ErrorCodes[code]).toBe(code);
      expect(ErrorStatus[code]).toBe(status);
    }
    expect(Object.keys(ErrorStatus).sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  describe.each(TABLE)('%s', (name, code, status, make) => {
    const error = make(here);
    const Class = here[name] as unknown as abstract new (...args: never[]) => PluginError;

    it('is named after its class, carries its code and its status', () => {
      expect(Class.name).toBe(name);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(String(error)).toBe(`${name}: m`);
      expect(error).toBeInstanceOf(Error);
    });

    it('is an instance of its class and of PluginError, of no other plugwire class', () => {
      expect(error instanceof Class).toBe(true);
      expect(error instanceof PluginError).toBe(true);
      expect(PluginError.is(error)).toBe(true);
      expect(PluginError.is(error, code)).toBe(true);
      for (const [other] of TABLE) if (other !== name) expect(error instanceof (here[other] as unknown as abstract new () => unknown)).toBe(false);
    });

    it("matches a second copy's classes, and the second copy's error matches this copy's", () => {
      const copy = secondCopy();
      const Copied = copy[name] as unknown as abstract new (...args: never[]) => PluginError;
      expect(Copied).not.toBe(Class);
      const foreign = make(copy);
      expect(foreign instanceof Class).toBe(true);
      expect(foreign instanceof PluginError).toBe(true);
      expect(PluginError.is(foreign, code)).toBe(true);
      expect(error instanceof Copied).toBe(true);
      expect(error instanceof copy.PluginError).toBe(true);
      expect(Object.getPrototypeOf(foreign)).not.toBe(Class.prototype);
    });
  });

  it('a PluginError made with a code is an instance of the class of that code', () => {
    expect(new PluginError('PLUGWIRE_START', 'm') instanceof StartError).toBe(true);
    expect(new PluginError('PLUGWIRE_START', 'm') instanceof TimeoutError).toBe(false);
  });

  it('anything without the brand is no instance, and looking never throws', () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    });
    for (const value of [null, undefined, 'PLUGWIRE_TIMEOUT', 42, {}, { code: 'PLUGWIRE_TIMEOUT' }, new Error('m'), hostile]) {
      expect(value instanceof PluginError).toBe(false);
      expect(value instanceof TimeoutError).toBe(false);
      expect(PluginError.is(value)).toBe(false);
    }
  });

  it("a user's subclass matches by its prototype, and its instances are still the plugwire class's", () => {
    class SlowError extends TimeoutError {}
    const slow = new SlowError('m');
    expect(slow instanceof SlowError).toBe(true);
    expect(slow instanceof TimeoutError).toBe(true);
    expect(slow instanceof PluginError).toBe(true);
    expect(new TimeoutError('m') instanceof SlowError).toBe(false);
  });

  it("RemoteError's status is the status the plugin answered with; statusCode is its deprecated alias", () => {
    const error = new RemoteError({ name: 'Error', message: 'm' }, 503);
    expect(error.status).toBe(503);
    expect(error.statusCode).toBe(503);
    expect(new RemoteError({ name: 'Error', message: 'm' }).status).toBe(500);
  });

  it.each([
    ['CallTimeoutError', CallTimeoutError, TimeoutError],
    ['CallAbortedError', CallAbortedError, AbortedError],
    ['PayloadValidationError', PayloadValidationError, ValidationError],
    ['StubCalledError', StubCalledError, StubError],
  ] as const)('the deprecated %s is the same class as its new name', (_old, alias, Class) => {
    expect(alias).toBe(Class);
  });

  it('keeps the fields of each class', () => {
    const start = new StartError('m', 'exited', { exitCode: 1, signal: null, stderr: 'boom' });
    expect(start).toMatchObject({ reason: 'exited', exitCode: 1, signal: null, stderr: 'boom' });
    expect(new ValidationError('m', 'plugin', [{ path: 'a', constraints: { isInt: 'a must be an integer' } }])).toMatchObject({ side: 'plugin', violations: [{ path: 'a' }] });
    expect(new ContractError('m', ['/a']).missing).toEqual(['/a']);
    expect(new ProtocolError('m', { statusCode: 413 }).statusCode).toBe(413);
    expect(new TimeoutError('m', { route: '/r', cause: 'c' })).toMatchObject({ route: '/r', cause: 'c' });
    expect(new StubError().message).toMatch(/stub was called locally/);
    expect([new MethodNotFoundError('m'), new UnavailableError('m'), new ClosedError('m'), new DefinitionError('m')].map((e) => e.code)).toEqual([
      'PLUGWIRE_METHOD_NOT_FOUND',
      'PLUGWIRE_UNAVAILABLE',
      'PLUGWIRE_CLOSED',
      'PLUGWIRE_DEFINITION',
    ]);
  });
});
