import type { ErrorCode } from '../errors/error-codes';

/** What the `plugwire` command can fail with: an error code, bad usage, or anything else. */
export type ExitReason = ErrorCode | 'USAGE' | 'UNEXPECTED';

/** The exit status of the `plugwire` command for each error code (0: success). */
export const EXIT_CODES: Readonly<Record<ExitReason, number>> = Object.freeze({
  UNEXPECTED: 1,
  USAGE: 2,
  PLUGWIRE_START: 3,
  PLUGWIRE_UNAVAILABLE: 4,
  PLUGWIRE_TIMEOUT: 5,
  PLUGWIRE_METHOD_NOT_FOUND: 6,
  PLUGWIRE_VALIDATION: 7,
  PLUGWIRE_REMOTE: 8,
  PLUGWIRE_PROTOCOL: 9,
  PLUGWIRE_CONTRACT: 10,
  PLUGWIRE_CLOSED: 11,
  PLUGWIRE_ABORTED: 12,
  PLUGWIRE_DEFINITION: 13,
  PLUGWIRE_STUB: 14,
  PLUGWIRE_OVERLOADED: 15,
});

// Typed by the same keys as EXIT_CODES: a new error code does not compile without its words here.
const MEANINGS: Readonly<Record<ExitReason, string>> = {
  UNEXPECTED: 'anything else: an unexpected failure',
  USAGE: 'usage: bad arguments, a payload that is not JSON, no plugin command, a token file it cannot use',
  PLUGWIRE_START: 'the plugin did not start (or nothing listens on --socket)',
  PLUGWIRE_UNAVAILABLE: 'the plugin went away and could not be restarted',
  PLUGWIRE_TIMEOUT: 'the call (or the health check) took longer than --timeout',
  PLUGWIRE_METHOD_NOT_FOUND: 'the plugin has no method at that route',
  PLUGWIRE_VALIDATION: 'the payload or the answer is invalid',
  PLUGWIRE_REMOTE: 'the method failed: it threw or returned an error',
  PLUGWIRE_PROTOCOL: 'a malformed request or answer, or a token refused or not given (--socket)',
  PLUGWIRE_CONTRACT: "the plugin's manifest lacks routes of a contract",
  PLUGWIRE_CLOSED: 'the plugin was terminated during the call',
  PLUGWIRE_ABORTED: 'the call was cancelled',
  PLUGWIRE_DEFINITION: 'a contract or implementation is defined wrongly',
  PLUGWIRE_STUB: "a contract method's placeholder body ran",
  PLUGWIRE_OVERLOADED: 'the plugin refused the call: it serves as many calls as it takes',
};

/**
 * The exit statuses as a table for `--help`, made from {@link EXIT_CODES} so that the
 * two cannot drift apart.
 * @returns `Exit status:` and one line per status, in order
 * @internal
 */
export function exitStatusHelp(): string {
  const rows: Array<[number, string]> = [[0, 'success']];
  for (const reason of Object.keys(EXIT_CODES) as ExitReason[]) {
    rows.push([EXIT_CODES[reason], reason.startsWith('PLUGWIRE_') ? `${reason}: ${MEANINGS[reason]}` : MEANINGS[reason]]);
  }
  rows.sort(([a], [b]) => a - b);
  return `Exit status:\n${rows.map(([status, meaning]) => `  ${String(status).padEnd(4)}${meaning}`).join('\n')}`;
}
