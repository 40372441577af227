// Reading what was thrown never throws, whatever it is.
import { runInNewContext } from 'node:vm';
import { describeForLog, describeThrown, isError, readField, readText } from '../../lib/util/thrown';

const hostile = new Proxy({}, {
  get() {
    throw new Error('trap');
  },
  getPrototypeOf() {
    throw new Error('trap');
  },
});

describe('util/thrown', () => {
  it('isError sees Errors of this realm and of another, and nothing else', () => {
    expect(isError(new TypeError('x'))).toBe(true);
    expect(isError(runInNewContext('new RangeError("x")'))).toBe(true);
    for (const value of [null, undefined, 'x', 1, {}, { message: 'x', stack: 'x' }, hostile]) expect(isError(value)).toBe(false);
  });

  it('readText and readField give undefined where reading throws', () => {
    const getter = Object.defineProperty({}, 'name', {
      get() {
        throw new Error('getter');
      },
    });
    expect(readText(getter, 'name')).toBeUndefined();
    expect(readField(getter, 'name')).toBeUndefined();
    expect(readText(hostile, 'message')).toBeUndefined();
    expect(readText({ code: 7 }, 'code')).toBe('7');
    expect(readText({}, 'code')).toBeUndefined();
  });

  it('describeThrown gives JSON, else the string, else the kind of value', () => {
    expect(describeThrown({ a: 1 })).toBe('{"a":1}');
    expect(describeThrown(10n)).toBe('10');
    expect(describeThrown(Symbol('odd'))).toBe('Symbol(odd)');
    expect(describeThrown(Object.assign(Object.create(null) as object, { big: 1n }))).toBe('an unprintable object');
  });

  it('describeForLog gives the stack, else name and message, else the value as text', () => {
    const error = new Error('boom');
    expect(describeForLog(error)).toBe(error.stack);
    const noStack = Object.defineProperty(new TypeError('boom'), 'stack', { value: undefined });
    expect(describeForLog(noStack)).toBe('TypeError: boom');
    expect(describeForLog('plain words')).toBe('plain words');
    expect(describeForLog({ a: 1 })).toBe('{"a":1}');
  });
});
