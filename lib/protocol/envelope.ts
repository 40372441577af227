import { formatDeadline, parseDeadline } from './deadline';

/*
 * The request envelope, both halves: what a host sends to `POST /route` and how a plugin
 * reads it. Go's plugin.Request is `{"Context":{"Deadline":"<RFC 3339>"|null},"Payload":<JSON>}`;
 * the payload of a method with several parameters is a JSON array of them.
 */

/**
 * Encodes a request body.
 *
 * @param payload - the payload (already plain JSON data)
 * @param deadline - the epoch time in ms the call must be answered by; 0 for none
 * @returns the body
 * @throws what `JSON.stringify` throws (a cycle, a BigInt)
 * @internal
 */
export function encodeRequest(payload: unknown, deadline: number): string {
  const context = `{"Context":{"Deadline":${deadline > 0 ? `"${formatDeadline(deadline)}"` : 'null'}}`;
  // The one argument left out: no Payload, which the plugin reads as absent.
  return payload === undefined ? `${context}}` : `${context},"Payload":${JSON.stringify(payload) ?? 'null'}}`;
}

/**
 * The payload of a call with these arguments: nothing (`null`), the one argument, or an
 * array of the arguments. Trailing arguments left out (`undefined`) are not sent, as
 * PROTOCOL.md allows: the plugin gets them absent, so its default parameter values apply
 * as in a local call, where a `null` in their place would not. One left out in the
 * middle travels as `null`: JSON has no `undefined`.
 * @internal
 */
export function argumentsToPayload(values: readonly unknown[], count: number): unknown {
  if (count === 0) return null;
  if (count === 1) return values[0];
  let length = Math.min(values.length, count);
  while (length > 0 && values[length - 1] === undefined) length -= 1;
  return Array.from({ length }, (_, i) => values[i]);
}

/** A request a plugin reads. @internal */
export interface DecodedRequest {
  /** The caller's deadline, epoch ms (with a sub-millisecond fraction); undefined for none. */
  readonly deadline: number | undefined;
  /** The method's arguments. */
  readonly args: unknown[];
}

/** Why a request body was refused: the answer's code, message and status. @internal */
export interface EnvelopeRefusal {
  readonly code: 'PLUGWIRE_PROTOCOL' | 'PLUGWIRE_VALIDATION';
  readonly message: string;
  readonly status: number;
}

function refusal(code: EnvelopeRefusal['code'], message: string): EnvelopeRefusal {
  return { code, message, status: code === 'PLUGWIRE_PROTOCOL' ? 400 : 422 };
}

/**
 * How deep a request body's JSON may nest (arrays and objects, the envelope included);
 * deeper is refused with 422. JSON.parse takes any depth, but the conversion of the
 * arguments, a method's own code and the encoding of its answer recurse on them and would
 * fail on a stack overflow somewhere in between. Go's encoding/json stops at 10,000.
 * @internal
 */
export const MAX_NESTING = 1000;

/**
 * Whether a parsed JSON value nests deeper than `limit` (arrays and objects): a walk
 * without recursion over its arrays and objects, which stops at the first too deep.
 * JSON text no longer than the limit cannot nest deeper, and is not walked.
 */
function nestsDeeperThan(value: unknown, textLength: number, limit: number): boolean {
  if (textLength <= limit) return false;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = (depths.pop() as number) + 1;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const item of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) {
      if (typeof item === 'object' && item !== null) {
        values.push(item);
        depths.push(depth);
      }
    }
  }
  return false;
}

/** What {@link pick} answers when several keys match a name in different cases. */
const AMBIGUOUS: unique symbol = Symbol('ambiguous');

/**
 * A field of a JSON object as Go's encoding/json reads it: each key equal to the name, or
 * equal in another case, is assigned in the order written, so the last one wins. JSON.parse
 * keeps the last value of each key, which answers when one key matches (the exact one, or
 * one in another case), the common case; several keys that differ in case
 * (`{"Payload":1,"payload":2}`) are {@link AMBIGUOUS}: only the text says which came last.
 */
function pick(record: Record<string, unknown>, key: string, lower: string): unknown {
  let found: string | undefined;
  for (const k in record) {
    if (k === key || (k.length === key.length && k.toLowerCase() === lower)) {
      if (found !== undefined) return AMBIGUOUS;
      found = k;
    }
  }
  return found === undefined ? undefined : record[found];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether a character is JSON's whitespace (space, tab, line feed, carriage return). */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipSpace(text: string, i: number): number {
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Where the JSON string at `i` (its opening quote) of a valid JSON text ends: after its closing quote. */
function skipString(text: string, i: number): number {
  i++;
  while (text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
  return i + 1;
}

/** Where the JSON value at `i` of a valid JSON text ends. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) {
    // A number, true, false or null: up to what follows a value.
    while (i < text.length && !isSpace(text.charCodeAt(i)) && !',}]'.includes(text.charAt(i))) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d /* } */ || c === 0x5d) /* ] */ && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

/**
 * The value of a field of nested JSON objects (`['context', 'deadline']`, lowercase names)
 * as Go reads it, from the text, which JSON.parse made `root` of: at each level, the key
 * matching in any case that was written last. Only for keys {@link pick} found ambiguous.
 */
function pickWritten(root: unknown, text: string, names: readonly string[]): unknown {
  let holder = root;
  let i = skipSpace(text, 0);
  for (const name of names) {
    if (typeof holder !== 'object' || holder === null || Array.isArray(holder) || text.charCodeAt(i) !== 0x7b) return undefined;
    let winner: string | undefined;
    let at = 0;
    i = skipSpace(text, i + 1);
    while (text.charCodeAt(i) === QUOTE) {
      const end = skipString(text, i);
      const key = JSON.parse(text.slice(i, end)) as string;
      const start = skipSpace(text, skipSpace(text, end) + 1);
      if (key.length === name.length && key.toLowerCase() === name) {
        winner = key;
        at = start;
      }
      i = skipSpace(text, skipValue(text, start));
      if (text.charCodeAt(i) === 0x2c) i = skipSpace(text, i + 1);
    }
    if (winner === undefined) return undefined;
    // The last occurrence of a key is also the value JSON.parse kept for it.
    holder = (holder as Record<string, unknown>)[winner];
    i = at;
  }
  return holder;
}

/**
 * Reads a request body: its deadline, and its payload as the arguments of a method with
 * `count` parameters.
 *
 * @param body - the request body
 * @param count - how many parameters the method takes
 * @param route - the route, for messages
 * @returns the request, or why it is refused
 * @internal
 */
export function decodeRequest(body: Buffer, count: number, route: string): DecodedRequest | EnvelopeRefusal {
  let envelope: unknown;
  const text = body.toString('utf8');
  try {
    envelope = JSON.parse(text);
  } catch (error) {
    return refusal('PLUGWIRE_PROTOCOL', `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    return refusal('PLUGWIRE_VALIDATION', 'request body must be a JSON object with Context and Payload');
  }
  let context = pick(envelope as Record<string, unknown>, 'Context', 'context');
  if (context === AMBIGUOUS) context = pickWritten(envelope, text, ['context']);
  let payload = pick(envelope as Record<string, unknown>, 'Payload', 'payload');
  if (payload === AMBIGUOUS) payload = pickWritten(envelope, text, ['payload']);
  let deadline: number | undefined;
  if (context !== undefined && context !== null) {
    if (typeof context !== 'object' || Array.isArray(context)) return refusal('PLUGWIRE_VALIDATION', 'Context must be an object');
    let raw = pick(context as Record<string, unknown>, 'Deadline', 'deadline');
    if (raw === AMBIGUOUS) raw = pickWritten(envelope, text, ['context', 'deadline']);
    if (raw !== undefined && raw !== null) {
      deadline = typeof raw === 'string' ? parseDeadline(raw) : undefined;
      if (deadline === undefined) {
        const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 80)) : `got ${Array.isArray(raw) ? 'an array' : typeof raw}`;
        return refusal('PLUGWIRE_VALIDATION', `Context.Deadline is not an RFC 3339 time: ${shown}`);
      }
    }
  }
  // Only the payload reaches the method (the other fields are read as above, or ignored);
  // the envelope around it is one level.
  if (count > 0 && nestsDeeperThan(payload, text.length, MAX_NESTING - 1)) {
    return refusal('PLUGWIRE_VALIDATION', `Payload nests deeper than ${MAX_NESTING} levels (the envelope included)`);
  }
  let args: unknown[];
  if (count === 0) args = [];
  else if (count === 1) args = [payload];
  else if (Array.isArray(payload)) {
    if (payload.length > count) return refusal('PLUGWIRE_VALIDATION', `${route} takes ${count} parameters, got an array of ${payload.length}`);
    args = payload;
  } else if (payload === undefined || payload === null) args = [];
  else return refusal('PLUGWIRE_VALIDATION', `${route} takes ${count} parameters: the payload must be a JSON array`);
  return { deadline, args };
}

/** Whether {@link decodeRequest} refused the body. @internal */
export function isRefusal(decoded: DecodedRequest | EnvelopeRefusal): decoded is EnvelopeRefusal {
  return (decoded as EnvelopeRefusal).code !== undefined;
}
