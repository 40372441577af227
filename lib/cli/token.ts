// The token the command sends to a plugin that already runs (--socket), and where it comes from.
import { readFileSync } from 'node:fs';
import { Usage } from './usage';

/**
 * `PLUGWIRE_TOKEN`, which lib/protocol/constants.ts names TOKEN_ENV; the package's entry does
 * not export it, and `plugwire health` does not load the library (spec/cli/health.spec.ts
 * checks that the two agree).
 * @internal
 */
export const TOKEN_ENV = 'PLUGWIRE_TOKEN';

/**
 * `PLUGWIRE_TOKEN_FILE` (TOKEN_FILE_ENV). Written out rather than imported from the
 * package's entry, so that `plugwire health` (a probe that runs every few seconds) does not
 * load the whole library; spec/cli/health.spec.ts checks that the two agree.
 * @internal
 */
export const TOKEN_FILE_ENV = 'PLUGWIRE_TOKEN_FILE';

/** A token is sent in an HTTP header: visible ASCII, no spaces. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Reads a token file as readTokenFile() (lib/util/token-file.ts) does: the text without the
 * whitespace around it, not empty, nothing a header cannot carry. The command may take no
 * value from lib/ but the package's entry (a lint rule), which does not export it, and
 * `plugwire health` would load the whole library for it; spec/cli/health.spec.ts checks
 * that both accept and refuse the same files.
 *
 * @param path - the file
 * @param what - where its name came from, for the error (`--token-file`, `PLUGWIRE_TOKEN_FILE`)
 * @returns the token
 * @throws {@link Usage} when the file cannot be read, is empty, or holds what a token cannot
 * @internal
 */
export function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Usage(`${what}: cannot read the token file ${path}: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new Usage(`${what}: the token file ${path} is empty`);
  if (!TOKEN_CHARACTERS.test(token)) throw new Usage(`${what}: the token file ${path} holds characters a token cannot have (only visible ASCII, no spaces)`);
  return token;
}

/** A token given as text: refused as a usage error when a header cannot carry it, as from a file. */
function checkedToken(token: string, what: string): string {
  if (!TOKEN_CHARACTERS.test(token)) throw new Usage(`${what}: the token holds characters a token cannot have (only visible ASCII, no spaces)`);
  return token;
}

/** Where the command's options say the token is. */
export interface TokenOptions {
  /** `--token`. */
  readonly token?: string;
  /** `--token-file`. */
  readonly tokenFile?: string;
}

/**
 * The token to send to a plugin on --socket: `--token`, else `--token-file`, else
 * `PLUGWIRE_TOKEN`, else the file named by `PLUGWIRE_TOKEN_FILE`. The variables come in the
 * order serve() reads them, so that a probe run with the plugin's own environment (an exec
 * probe in the plugin's container) sends the token the plugin chose.
 *
 * @param options - `--token` and `--token-file`
 * @param env - the command's environment
 * @returns the token, or `undefined` to send none
 * @throws {@link Usage} for both options at once, or a token file it cannot use
 * @internal
 */
export function tokenFor(options: TokenOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.token !== undefined && options.tokenFile !== undefined) throw new Usage('give --token or --token-file, not both');
  if (options.token !== undefined) return checkedToken(options.token, '--token');
  if (options.tokenFile !== undefined) return readTokenFile(options.tokenFile, '--token-file');
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return checkedToken(fromEnv, TOKEN_ENV);
  const file = env[TOKEN_FILE_ENV];
  if (file !== undefined && file !== '') return readTokenFile(file, TOKEN_FILE_ENV);
  return undefined;
}

/**
 * Why a plugin on --socket refused a request with 401, and how to give it a token: the one
 * line that `plugwire health`, `inspect` and `call` print for it.
 *
 * @param socket - the plugin's socket path
 * @param token - the token that was sent, or `undefined` for none
 * @returns the message, without the `plugwire: PLUGWIRE_PROTOCOL: ` before it
 * @internal
 */
export function refusedToken(socket: string, token: string | undefined): string {
  const given = token === undefined ? 'no token was given (--token, --token-file, PLUGWIRE_TOKEN or PLUGWIRE_TOKEN_FILE)' : 'the token sent is not the one it expects';
  return `the plugin on ${socket} refused the request (401 unauthorized): ${given}`;
}
