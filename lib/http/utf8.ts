/**
 * UTF-8 checks for request bodies and percent-encoded parameters. Courier and Rapporto both
 * send UTF-8 (rapidpro-external-channel.md §3.3; Rapporto: "URLEncoded according to the UTF-8
 * coding"). Decoding invalid bytes would turn them into U+FFFD and send that to a phone, so a
 * request holding them is refused with the byte offset instead (issue #14).
 */
import { isUtf8 } from "node:buffer";
import { shown } from "../text/peer-value";

/**
 * Offset of the first byte that does not start or continue a well-formed UTF-8 sequence
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or -1 when all are.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: sequence length and the range of its first continuation byte (Unicode table 3-7).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      const [lo, hi] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (c < lo || c > hi) return i;
    }
    i += length;
  }
  return -1;
}

/** Why a body cannot be read as UTF-8, or undefined when it can. */
export function bodyUtf8Refusal(body: Uint8Array): string | undefined {
  const at = invalidUtf8Offset(body);
  if (at < 0) return undefined;
  const bytes = Array.from(body.subarray(at, at + 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `body is not valid UTF-8: byte ${at} (${bytes}) starts no UTF-8 character`;
}

/** The bytes a percent-encoded form component stands for (`+` is a space); a malformed `%` stays as it is, as URLSearchParams leaves it. */
function percentDecode(component: string): Buffer {
  if (!component.includes("%")) return Buffer.from(component.replace(/\+/g, " "), "utf8");
  const parts: Buffer[] = [];
  let plain = "";
  for (let i = 0; i < component.length; i++) {
    const c = component[i];
    const hex = c === "%" ? component.slice(i + 1, i + 3) : "";
    if (hex.length === 2 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      if (plain) parts.push(Buffer.from(plain, "utf8"));
      plain = "";
      parts.push(Buffer.from([parseInt(hex, 16)]));
      i += 2;
    } else plain += c === "+" ? " " : c;
  }
  if (plain) parts.push(Buffer.from(plain, "utf8"));
  return Buffer.concat(parts);
}

/**
 * Why a query string or form body (`where` names it) holds a parameter whose percent-escapes
 * do not decode to UTF-8, or undefined when every one does. Names the parameter and the byte
 * offset within its decoded name or value.
 */
export function formUtf8Refusal(encoded: string, where: string): string | undefined {
  if (!encoded.includes("%")) return undefined;
  // decodeURIComponent throws on an escape that is malformed or not UTF-8 (ECMA-262 Decode: no
  // overlong forms, no surrogates, nothing past U+10FFFF), and `&`, `=` and `+` pass through it
  // unchanged: when it does not throw, every parameter decodes. Only a request it refuses is
  // taken apart below, one Buffer per escape, to find the parameter and the byte (or to find
  // that it was only a malformed `%`, which is text). Courier's bodies all pass.
  try {
    decodeURIComponent(encoded);
    return undefined;
  } catch {
    // Fall through to the exact reason.
  }
  for (const pair of encoded.split("&")) {
    if (!pair.includes("%")) continue;
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const nameBytes = percentDecode(rawName);
    const nameAt = invalidUtf8Offset(nameBytes);
    if (nameAt >= 0) return `${where}: a parameter name is not valid UTF-8 at byte ${nameAt} of the name`;
    if (eq < 0) continue;
    const valueAt = invalidUtf8Offset(percentDecode(pair.slice(eq + 1)));
    if (valueAt >= 0) return `${where}: parameter ${shown(nameBytes.toString("utf8"), 32)} is not valid UTF-8 at byte ${valueAt} of its value`;
  }
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Offset of the first lone surrogate in a string (a JSON `\ud800` escape makes one), or -1.
 * Such a string has no UTF-8 form: it would reach a phone as U+FFFD, like invalid bytes.
 */
export function loneSurrogateAt(text: string): number {
  const match = LONE_SURROGATE.exec(text);
  return match ? match.index : -1;
}
