/**
 * CIMD2's own 7-bit text form for the user data parameter `033` (aggregator-protocols.md
 * §3.6): the GSM 03.38 default alphabet written in printable Latin-1. Most GSM characters
 * are the ASCII byte of their code; the rest are `_xy` escapes (Kannel's
 * `cimd_combinations[]`, the table below); `$` stands for GSM 0x02; and on input `@`, `$`,
 * `]` and `}` mean GSM 0x00, 0x02, Å and å. The extension table is `_XX` followed by the
 * extension septet written the same way (`_XX(` is `{`, `_XX<` is `[`). Kannel writes
 * `@$_` as `_Oa$_--`; so do we.
 *
 * The GSM alphabet itself (septet ↔ character) is lib/sms/gsm7.ts's; this file only maps
 * septets to and from their CIMD2 spelling.
 */
import { decodeGsm7 } from "../sms/gsm7";

/** `_xy` escape → GSM septet, in Kannel's order. */
export const ESCAPES: ReadonlyArray<readonly [string, number]> = [
  ["Oa", 0x00], // @
  ["L-", 0x01], // £
  ["Y-", 0x03], // ¥
  ["e`", 0x04], // è
  ["e'", 0x05], // é
  ["u`", 0x06], // ù
  ["i`", 0x07], // ì
  ["o`", 0x08], // ò
  ["C,", 0x09], // Ç
  ["O/", 0x0b], // Ø
  ["o/", 0x0c], // ø
  ["A*", 0x0e], // Å
  ["a*", 0x0f], // å
  ["gd", 0x10], // Δ
  ["--", 0x11], // _
  ["gf", 0x12], // Φ
  ["gg", 0x13], // Γ
  ["gl", 0x14], // Λ
  ["go", 0x15], // Ω
  ["gp", 0x16], // Π
  ["gi", 0x17], // Ψ
  ["gs", 0x18], // Σ
  ["gt", 0x19], // Θ
  ["gx", 0x1a], // Ξ
  ["XX", 0x1b], // escape to the extension table
  ["AE", 0x1c], // Æ
  ["ae", 0x1d], // æ
  ["ss", 0x1e], // ß
  ["E'", 0x1f], // É
  ["qq", 0x22], // "
  ["ox", 0x24], // ¤
  ["!!", 0x40], // ¡
  ['A"', 0x5b], // Ä
  ['O"', 0x5c], // Ö
  ["N~", 0x5d], // Ñ
  ['U"', 0x5e], // Ü
  ["so", 0x5f], // §
  ["??", 0x60], // ¿
  ['a"', 0x7b], // ä
  ['o"', 0x7c], // ö
  ["n~", 0x7d], // ñ
  ['u"', 0x7e], // ü
  ["a`", 0x7f], // à
];

/** Single characters that do not stand for the GSM code of their byte. */
const SINGLE_INPUT: ReadonlyMap<string, number> = new Map([
  ["@", 0x00],
  ["$", 0x02],
  ["]", 0x0e],
  ["}", 0x0f],
]);

const SEPTET_OF_ESCAPE = new Map<string, number>(ESCAPES);
const SPELLING: string[] = [];
for (let septet = 0; septet < 0x80; septet++) SPELLING.push(String.fromCharCode(septet));
for (const [pair, septet] of ESCAPES) SPELLING[septet] = `_${pair}`;
SPELLING[0x02] = "$";

/** The CIMD2 spelling of unpacked GSM septets (one per octet, escape 0x1B included). */
export function septetsToCimd2(septets: Uint8Array): string {
  let out = "";
  for (const septet of septets) {
    if (septet > 0x7f) throw new RangeError(`0x${septet.toString(16)} is not a GSM septet`);
    out += SPELLING[septet];
  }
  return out;
}

export type TextDecode = { ok: true; text: string; septets: Buffer } | { ok: false; reason: string };

/**
 * Reads a `033` value. Bytes 0x80-0xFF are taken as Latin-1, as Kannel does ("CIMD2 allows
 * 8-bit characters in this format"); everything else is a GSM septet after the escapes.
 * An `_` that does not start a known escape is refused with the position, never guessed.
 */
export function decodeCimd2Text(value: string): TextDecode {
  let text = "";
  const run: number[] = [];
  const allSeptets: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    text += decodeGsm7(Uint8Array.from(run));
    run.length = 0;
  };
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    let septet: number | undefined;
    if (ch === "_") {
      const pair = value.slice(i + 1, i + 3);
      septet = SEPTET_OF_ESCAPE.get(pair);
      if (septet === undefined) {
        return { ok: false, reason: `"_${pair}" at position ${i} is not a CIMD2 escape` };
      }
      i += 2;
    } else if (SINGLE_INPUT.has(ch)) {
      septet = SINGLE_INPUT.get(ch);
    } else if (code > 0xff) {
      return { ok: false, reason: `character U+${code.toString(16).toUpperCase()} at position ${i} is not a byte` };
    } else if (code >= 0x80) {
      // An 8-bit Latin-1 character: ends the GSM run (an escape before it has nothing to
      // extend, so decodeGsm7 shows it as "?").
      flush();
      text += ch;
      continue;
    } else {
      septet = code;
    }
    run.push(septet as number);
    allSeptets.push(septet as number);
  }
  flush();
  return { ok: true, text, septets: Buffer.from(allSeptets) };
}

