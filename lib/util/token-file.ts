import { readFileSync } from 'node:fs';
import { DefinitionError } from '../errors/plugin-error';

/** A token is sent in an HTTP header: visible ASCII, no spaces. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Reads an access token from a file (a mounted Kubernetes Secret): the file's text without
 * the whitespace around it. It is read at each call, so that a rotated secret is seen by
 * the next start.
 *
 * @param path - the file
 * @param what - who reads it, for the error (`PLUGWIRE_TOKEN_FILE`, `attachToSocket({ tokenFile })`)
 * @returns the token
 * @throws {@link DefinitionError} when the file cannot be read, is empty, or holds
 * characters a header cannot carry
 * @internal
 */
export function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DefinitionError(`${what}: cannot read the token file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new DefinitionError(`${what}: the token file ${path} is empty`);
  if (!TOKEN_CHARACTERS.test(token)) {
    throw new DefinitionError(`${what}: the token file ${path} holds characters a token cannot have (only visible ASCII, no spaces)`);
  }
  return token;
}
