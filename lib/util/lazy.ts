/*
 * The modules plugwire loads only when it needs them, in one place. A plugin that imports
 * plugwire must start fast and small: it never loads what only a host uses (undici,
 * child_process), and nobody loads zlib until a Go plugin gzips an answer. The bundle keeps
 * these `require` calls as they are, so each module is read at its first use.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- loaded at first use, on purpose */

/** A function that loads a value at its first call and returns the same value after. @internal */
export function lazy<T>(load: () => T): () => T {
  let loaded = false;
  let value: T;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value;
  };
}

/** `node:crypto`: tokens, for a host that starts plugins and a plugin that checks them. @internal */
export const nodeCrypto = lazy(() => require('node:crypto') as typeof import('node:crypto'));
/** `node:os`: the temporary directory, host only. @internal */
export const nodeOs = lazy(() => require('node:os') as typeof import('node:os'));
/** `node:zlib`: only a Go plugin gzips its answers. @internal */
export const nodeZlib = lazy(() => require('node:zlib') as typeof import('node:zlib'));
/** `node:child_process`: host only, to spawn plugin processes. @internal */
export const nodeChildProcess = lazy(() => require('node:child_process') as typeof import('node:child_process'));
/** undici: host only, the HTTP client. @internal */
export const undici = lazy(() => require('undici') as typeof import('undici'));
/** class-validator-jsonschema: only to answer a manifest request that asks for schemas. @internal */
export const classValidatorJsonSchema = lazy(() => require('class-validator-jsonschema') as typeof import('class-validator-jsonschema'));
