import type { ErrorCode } from '../errors/error-codes';

/** The exit status of the `plugwire` command for each error code (0: success). */
export const EXIT_CODES: Readonly<Record<ErrorCode | 'USAGE' | 'UNEXPECTED', number>> = Object.freeze({
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
});
