/**
 * GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table, as SMPP carries it
 * under data_coding 0: unpacked, one septet per octet, an extension character as the escape
 * octet 0x1B followed by its code. The SMSC packs septets for the air interface, not us.
 */

/** The escape octet that selects the extension table for the next septet. */
export const GSM7_ESCAPE = 0x1b;

/**
 * The default alphabet, indexed by septet value. Position 0x1B is the escape code, not a
 * character; it is never produced for text.
 */
const BASIC_TABLE: readonly string[] = [
  "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
  "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "\u001b", "Æ", "æ", "ß", "É",
  " ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
  "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
  "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
  "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
  "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
  "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
];

/** The extension table: septet after the escape code → character. */
const EXTENSION_TABLE: ReadonlyArray<readonly [number, string]> = [
  [0x0a, "\f"],
  [0x14, "^"],
  [0x28, "{"],
  [0x29, "}"],
  [0x2f, "\\"],
  [0x3c, "["],
  [0x3d, "~"],
  [0x3e, "]"],
  [0x40, "|"],
  [0x65, "€"],
];

/**
 * Courier's smart-encoding substitutions (nyaruka gocommon `gsm7.ReplaceSubstitutions`):
 * typographic punctuation and accented letters that the default alphabet lacks, mapped to
 * the nearest character it has. Only characters outside the alphabet are listed, so a text
 * that is already GSM is never changed.
 */
const SUBSTITUTIONS: ReadonlyArray<readonly [string, string]> = [
  ["’", "'"], ["‘", "'"], ["“", "\""], ["”", "\""], ["–", "-"], ["\u00a0", " "], ["\t", " "],
  ["á", "a"], ["â", "a"], ["ã", "a"], ["ê", "e"], ["í", "i"], ["î", "i"],
  ["ó", "o"], ["ô", "o"], ["õ", "o"], ["ú", "u"], ["û", "u"], ["ç", "c"],
  ["Á", "A"], ["Â", "A"], ["Ã", "A"], ["À", "A"], ["È", "E"], ["Ê", "E"], ["Í", "I"],
  ["Î", "I"], ["Ì", "I"], ["Ó", "O"], ["Ô", "O"], ["Ò", "O"], ["Õ", "O"], ["Ú", "U"],
  ["Ù", "U"], ["Û", "U"],
];

const BASIC_CODE = new Map<string, number>(
  BASIC_TABLE.map((ch, code) => [ch, code] as const).filter(([, code]) => code !== GSM7_ESCAPE),
);
const EXTENSION_CODE = new Map<string, number>(EXTENSION_TABLE.map(([code, ch]) => [ch, code]));
const EXTENSION_CHAR = new Map<number, string>(EXTENSION_TABLE);
const SUBSTITUTE = new Map<string, string>(SUBSTITUTIONS);

/** The octets one character takes under data_coding 0, or undefined when it has none. */
export function gsm7CharOctets(ch: string): number[] | undefined {
  const basic = BASIC_CODE.get(ch);
  if (basic !== undefined) return [basic];
  const extension = EXTENSION_CODE.get(ch);
  return extension === undefined ? undefined : [GSM7_ESCAPE, extension];
}

/** True when every character of `text` is in the default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (const ch of text) {
    if (!BASIC_CODE.has(ch) && !EXTENSION_CODE.has(ch)) return false;
  }
  return true;
}

/** Septets `text` takes: two for an extension character. Undefined when it is not GSM. */
export function gsm7Septets(text: string): number | undefined {
  let septets = 0;
  for (const ch of text) {
    const octets = gsm7CharOctets(ch);
    if (!octets) return undefined;
    septets += octets.length;
  }
  return septets;
}

/** Applies courier's smart substitutions to every character that has one. */
export function substituteForGsm7(text: string): string {
  let out = "";
  for (const ch of text) out += SUBSTITUTE.get(ch) ?? ch;
  return out;
}

/**
 * Decodes unpacked septets. Following TS 23.038, an escape followed by a code the extension
 * table lacks shows the default-alphabet character of that code; an octet above 0x7F (not a
 * septet) and a trailing escape cannot be text and become "?" rather than vanish.
 */
export function decodeGsm7(octets: Uint8Array): string {
  let out = "";
  for (let i = 0; i < octets.length; i++) {
    const code = octets[i];
    if (code > 0x7f) {
      out += "?";
    } else if (code === GSM7_ESCAPE) {
      const next = octets[i + 1];
      if (next === undefined || next > 0x7f) {
        out += "?";
      } else {
        out += EXTENSION_CHAR.get(next) ?? (next === GSM7_ESCAPE ? " " : BASIC_TABLE[next]);
        i++;
      }
    } else {
      out += BASIC_TABLE[code];
    }
  }
  return out;
}
