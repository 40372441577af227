/**
 * The command was used wrongly (bad arguments, a payload that is not JSON, a token file it
 * cannot use): `plugwire: <message>` on standard error and exit status 2.
 * @internal
 */
export class Usage extends Error {}
