import { DefinitionError } from '../errors/plugin-error';
import { describeRoute, type Route } from './route-table';

/** What serve() does about contract methods the served classes do not override. @internal */
export type UnimplementedMode = 'warn' | 'error' | 'ignore';

/** Classes already warned about: a host serving in-process plugins again and again is told once. */
const warnedUnimplemented = new WeakSet<object>();

/**
 * Reports the contract methods that the served classes leave to the contract's `stub()`:
 * a `PLUGWIRE_NOT_IMPLEMENTED` process warning (once per class), a thrown error, or nothing.
 *
 * @param table - the route table
 * @param mode - the serve option `unimplemented`
 * @param passedTo - where the classes were given, for the message: `serve()`, `the services of connect()`
 * @throws {@link DefinitionError} for a mode that is none of the three, and with `error`
 * when a method is not overridden
 * @internal
 */
export function reportUnimplemented(table: ReadonlyMap<string, Route>, mode: UnimplementedMode, passedTo = 'serve()'): void {
  if (mode !== 'warn' && mode !== 'error' && mode !== 'ignore') {
    throw new DefinitionError(`serve(): unimplemented must be 'warn', 'error' or 'ignore', got ${String(mode)}`);
  }
  const missing = [...table.values()].filter((r) => !r.implemented);
  if (missing.length === 0 || mode === 'ignore') return;
  if (mode === 'warn' && missing.every((r) => warnedUnimplemented.has(r.target.constructor))) return;
  for (const r of missing) warnedUnimplemented.add(r.target.constructor);
  const served = [...new Set(missing.map((r) => r.target.constructor.name))].join(', ');
  const message =
    `${served} does not override ${missing.map((r) => describeRoute(r.definition)).join(', ')}: ` +
    `${missing.length === 1 ? 'a call to it fails' : 'calls to them fail'} with PLUGWIRE_STUB. Override ${missing.length === 1 ? 'it' : 'them'} in the class passed to ${passedTo}.`;
  if (mode === 'error') throw new DefinitionError(message);
  process.emitWarning(message, { code: 'PLUGWIRE_NOT_IMPLEMENTED' });
}
