// What the command prints that a plugin wrote (its manifest, its answers, its error messages,
// its output) must not act on the user's terminal: an escape sequence would colour, move the
// cursor, set the window title or the clipboard (OSC 52), a \r would overwrite the line, a
// bidirectional override would show the text in another order than it has. Such characters
// are printed as the escape a JSON string writes for them, so the text stays readable.

/**
 * The characters that act on a terminal or on how the text around them shows: the control
 * characters (C0, DEL and C1, `\p{Cc}`), the line and paragraph separators (U+2028, U+2029),
 * and the bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069).
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Of {@link UNSAFE}, those that JSON.stringify writes as they are: it escapes the C0 controls
 * (and the quote and backslash) only. In JSON text they can only stand inside a string.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The short escapes JSON has; every other character is written `\uXXXX`. */
const SHORT: Readonly<Record<string, string>> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

function escaped(character: string): string {
  return SHORT[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text for a terminal: each control character, line or paragraph separator and
 * bidirectional formatting character written as a JSON string writes it (`\n`, `\t`, `\r`,
 * `\b`, `\f`, else `\u001b`, `\u009b`, `\u202e`...). Everything else, backslashes included,
 * is left as it is: the text is for reading, `--json` has it exact.
 * @param text - text that may come from a plugin
 * @returns the text, safe to write to a terminal
 * @internal
 */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, escaped);
}

/**
 * A value as JSON that is safe to write to a terminal: JSON.stringify's text, with DEL, the
 * C1 controls, the line and paragraph separators and the bidirectional formatting characters
 * written as `\uXXXX` escapes too. It parses to the same value.
 * @param value - the value, e.g. a plugin's answer
 * @param indent - spaces to indent by, as JSON.stringify's third argument
 * @returns the JSON text; `undefined` where JSON.stringify returns it (`undefined`, a function)
 * @internal
 */
export function jsonForTerminal(value: unknown, indent?: number): string | undefined {
  return JSON.stringify(value, null, indent)?.replace(UNSAFE_IN_JSON, escaped);
}
