// Go encodes time.Time as RFC 3339 with up to nine fraction digits and either 'Z' or a
// numeric offset; it accepts any number of fraction digits when decoding.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Formats an epoch time in milliseconds as Go's RFC3339Nano encoding of a UTC time:
 * trailing zeros of the fraction trimmed, e.g. `2026-11-25T12:00:00.123Z`.
 * @internal
 */
export function formatDeadline(epochMs: number): string {
  // Calls made in the same millisecond share the string: under load, most do.
  if (epochMs !== lastMs) {
    lastMs = epochMs;
    lastText = new Date(epochMs).toISOString().replace(/\.?0+Z$/, 'Z'); // 2026-11-25T12:00:00.123Z
  }
  return lastText;
}

let lastMs = NaN;
let lastText = '';

/**
 * Parses an RFC 3339 timestamp as Go writes it. Returns the epoch time in milliseconds
 * (with the sub-millisecond part kept as a fraction), or `undefined` if it is not one.
 * @internal
 */
export function parseDeadline(text: string): number | undefined {
  // Calls sent in the same millisecond carry the same text: under load, most do.
  if (text === lastParsedText) return lastParsed;
  lastParsed = parseRfc3339(text);
  lastParsedText = text;
  return lastParsed;
}

let lastParsedText: string | undefined;
let lastParsed: number | undefined;

/**
 * Parses an RFC 3339 date-time as Go's encoding/json reads a time.Time: a full date, `T`,
 * a time with any number of fraction digits, `Z` or a numeric offset (`t` and `z` in
 * lower case too). Returns the epoch time in milliseconds, or `undefined` for anything
 * else. @internal
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m as unknown as string[];
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCDate() !== day) return undefined; // 31 June and the like
  const base = date.getTime();
  let offsetMinutes = 0;
  if (!z) {
    const offH = Number(oh), offM = Number(om);
    if (offH > 23 || offM > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
  }
  // Go keeps nine digits and cuts off the rest.
  const fraction = frac ? Number(`0.${frac.slice(0, 9)}`) * 1000 : 0;
  return base - offsetMinutes * 60_000 + fraction;
}
