import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { encodeUnits } from "../../../lib/sms/alphabet";
import { decodeCimd2Text, ESCAPES, septetsToCimd2 } from "../../../lib/cimd2/text";

/** CIMD2 spelling of a GSM text, the way buildSubmit produces it. */
function spell(text: string): string {
  const units = encodeUnits(text, "gsm7");
  assert.ok(units, `"${text}" is GSM`);
  return septetsToCimd2(Uint8Array.from(units.flatMap((u) => [...u.octets])));
}

function read(value: string): string {
  const decoded = decodeCimd2Text(value);
  assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
  return decoded.text;
}

// aggregator-protocols.md §3.6: "other GSM characters use `_xy` escapes (`_Oa` @, `_L-` £,
// `_Y-` ¥, `_e\`` è, `_e'` é, `_--` underscore, `_gd` Δ, … full table in Kannel
// `cimd_combinations[]`)". Written out here character by character, not derived from the code.
const ESCAPE_CASES: Array<[string, string]> = [
  ["_Oa", "@"], ["_L-", "£"], ["_Y-", "¥"], ["_e`", "è"], ["_e'", "é"], ["_u`", "ù"],
  ["_i`", "ì"], ["_o`", "ò"], ["_C,", "Ç"], ["_O/", "Ø"], ["_o/", "ø"], ["_A*", "Å"],
  ["_a*", "å"], ["_gd", "Δ"], ["_--", "_"], ["_gf", "Φ"], ["_gg", "Γ"], ["_gl", "Λ"],
  ["_go", "Ω"], ["_gp", "Π"], ["_gi", "Ψ"], ["_gs", "Σ"], ["_gt", "Θ"], ["_gx", "Ξ"],
  ["_AE", "Æ"], ["_ae", "æ"], ["_ss", "ß"], ["_E'", "É"], ["_qq", "\""], ["_ox", "¤"],
  ["_!!", "¡"], ["_A\"", "Ä"], ["_O\"", "Ö"], ["_N~", "Ñ"], ["_U\"", "Ü"], ["_so", "§"],
  ["_??", "¿"], ["_a\"", "ä"], ["_o\"", "ö"], ["_n~", "ñ"], ["_u\"", "ü"], ["_a`", "à"],
];

describe("every _xy escape, both ways (§3.6, Kannel cimd_combinations[])", () => {
  for (const [escape, ch] of ESCAPE_CASES) {
    test(`${escape} ⇄ ${JSON.stringify(ch)}`, () => {
      assert.equal(read(escape), ch);
      assert.equal(spell(ch), escape);
    });
  }
  test("the table has exactly these escapes plus _XX", () => {
    const listed = new Set(ESCAPE_CASES.map(([e]) => e.slice(1)));
    listed.add("XX");
    assert.deepEqual(new Set(ESCAPES.map(([pair]) => pair)), listed);
  });
});

// §3.6: "`_XX` escape to the extension table, e.g. `_XX(` = `{`, `_XX<` = `[`"; the septet
// after the escape is spelled like any other (Kannel's convert_gsm_to_cimd2 runs over it too).
const EXTENSION_CASES: Array<[string, string]> = [
  ["_XX(", "{"], ["_XX)", "}"], ["_XX<", "["], ["_XX>", "]"], ["_XX=", "~"], ["_XX/", "\\"],
  ["_XX_gl", "^"], ["_XX_!!", "|"], ["_XXe", "€"], ["_XX\n", "\f"],
];

describe("the extension table through _XX (§3.6)", () => {
  for (const [escape, ch] of EXTENSION_CASES) {
    test(`${JSON.stringify(escape)} ⇄ ${JSON.stringify(ch)}`, () => {
      assert.equal(read(escape), ch);
      assert.equal(spell(ch), escape);
    });
  }
});

describe("single characters (§3.6: `@`→GSM 0, `$`→2, `]`→Å, `}`→å)", () => {
  const cases: Array<[string, string, string]> = [
    ["@", "@", "@ on input is GSM 0"],
    ["$", "$", "$ is GSM 2 both ways"],
    ["]", "Å", "] on input is Å"],
    ["}", "å", "} on input is å"],
  ];
  for (const [input, ch, rule] of cases) test(rule, () => assert.equal(read(input), ch));
  test("$ is written as itself, not escaped", () => assert.equal(spell("$"), "$"));
});

describe("texts", () => {
  test("Kannel encodes `@$_` as `_Oa$_--` [verified here] (§3.6)", () => {
    assert.equal(spell("@$_"), "_Oa$_--");
    assert.equal(read("_Oa$_--"), "@$_");
  });
  test("plain ASCII letters, digits and punctuation are themselves", () => {
    assert.equal(spell("Hello, World 123!?"), "Hello, World 123!?");
  });
  test("a mixed text round-trips", () => {
    const text = "Prix: 5€ {ok} [x] ~ \\ ^ | Δ £ ¿";
    assert.equal(read(spell(text)), text);
  });
  test("8-bit bytes read as Latin-1 (Kannel: CIMD2 allows 8-bit characters in this format)", () => {
    assert.equal(read("caf\xe9"), "café");
  });
  test("an unknown escape is refused with its position", () => {
    const decoded = decodeCimd2Text("ab_zz");
    assert.equal(decoded.ok, false);
    assert.match(decoded.ok ? "" : decoded.reason, /"_zz" at position 2/);
  });
  test("a trailing _ is refused", () => {
    assert.equal(decodeCimd2Text("x_").ok, false);
  });
  test("septets above 0x7F cannot be spelled", () => {
    assert.throws(() => septetsToCimd2(Uint8Array.from([0x80])), RangeError);
  });
});
