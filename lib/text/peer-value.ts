/**
 * Values that came from a peer (courier, Rapporto, an SMSC, any HTTP client): how they may
 * appear in a log line, a node status or an error body, and which characters an identifier
 * may not hold.
 *
 * A peer value written to a log as it is could start a new, forged log line (CR, LF), cut a
 * line short for some readers (NUL), move the cursor (ESC sequences) or fill the log (a
 * 10,000-character "number"). So every such value is escaped (control characters become
 * visible as `\r`, `\n`, `\x00`, `\u0085`) and cut to a readable length, with the number of
 * characters left out. Message texts are the exception where they are content, not log
 * material: they are delivered with their control characters (a text may hold a line break).
 */

/** How much of a value an error body echoes: enough to recognise it, not enough to flood. */
export const ECHO_CHARS = 64;

/** C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F), and the Unicode line and paragraph separators. */
// Matching control characters is the point of these two expressions.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const CONTROL_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

const NAMED: Record<string, string> = { "\r": "\\r", "\n": "\\n", "\t": "\\t", "\0": "\\x00", "\\": "\\\\" };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * A peer value as it may be shown: control characters and backslashes escaped, at most
 * `maxChars` characters of the value kept, and what was cut said as "…(+N chars)".
 */
export function shown(value: unknown, maxChars = ECHO_CHARS): string {
  const text = typeof value === "string" ? value : String(value);
  const kept = text.length > maxChars ? text.slice(0, maxChars) : text;
  const escaped = kept.replace(CONTROL_GLOBAL, escapeChar);
  return text.length > maxChars ? `${escaped}…(+${text.length - maxChars} chars)` : escaped;
}

/** `shown` in double quotes, for values inside a sentence: `to "+2507\r\n…"`. */
export function quoted(value: unknown, maxChars = ECHO_CHARS): string {
  return `"${shown(value, maxChars).replace(/"/g, '\\"')}"`;
}

/**
 * A whole log line or error text that may carry peer values already built into it (a
 * driver's message, a reason from a parser): escaped and cut as one, longer than one value.
 */
export function logLine(text: string, maxChars = 400): string {
  return shown(text, maxChars);
}

/** Offset of the first control character in `value`, or -1 when it has none. */
export function controlCharacterAt(value: string): number {
  const match = CONTROL.exec(value);
  return match ? match.index : -1;
}

/**
 * Why `value` of the field `name` cannot be an identifier, address or number, or undefined
 * when it has no control character. The reason names the character and where it is, and
 * shows the value escaped and cut.
 */
export function controlCharacterRefusal(name: string, value: string): string | undefined {
  const at = controlCharacterAt(value);
  if (at < 0) return undefined;
  return `${name} ${quoted(value)} holds the control character ${escapeChar(value[at])} at character ${at}: not allowed in ${name}`;
}
