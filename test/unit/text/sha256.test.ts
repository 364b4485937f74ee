/** lib/text/sha256.ts: the one-call hash and its createHash fallback give FIPS 180-4's digests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256 } from "../../../lib/text/sha256";

// FIPS 180-4 example vectors ("abc", the empty string), and a text beyond ASCII (hashed as UTF-8).
const CASES = [
  { text: "abc", hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { text: "", hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { text: "Olá, Привет", hex: createHash("sha256").update("Olá, Привет", "utf8").digest("hex") },
];

for (const { text, hex } of CASES) {
  test(`sha256 of ${JSON.stringify(text)}`, () => {
    assert.equal(sha256(text).toString("hex"), hex);
    assert.equal(sha256(text, "base64url"), Buffer.from(hex, "hex").toString("base64url"));
  });
}
