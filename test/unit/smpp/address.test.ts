import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { addressFromPdu, typeAddress, type AddressOverride } from "../../../lib/smpp/address";

describe("typing submit_sm addresses", () => {
  const cases: Array<{ name: string; address: unknown; role: "source" | "destination"; override?: AddressOverride; expected: { addr: string; ton: number; npi: number } | RegExp }> = [
    {
      name: "reference §4.5: Kannel sent 'alphanumeric source TON 5/NPI 0'",
      address: "Nyaruka",
      role: "source",
      expected: { addr: "Nyaruka", ton: 5, npi: 0 },
    },
    { name: "'+' international source: TON 1 / NPI 1, the + stripped", address: "+250788123123", role: "source", expected: { addr: "250788123123", ton: 1, npi: 1 } },
    { name: "'+' international destination: TON 1 / NPI 1, the + stripped", address: "+250788123123", role: "destination", expected: { addr: "250788123123", ton: 1, npi: 1 } },
    { name: "short code source (3-8 digits): TON 3 / NPI 0 (our default, overridable)", address: "1234", role: "source", expected: { addr: "1234", ton: 3, npi: 0 } },
    { name: "a long number without +: TON 0 / NPI 1, the SMSC's numbering plan decides", address: "250788123123", role: "destination", expected: { addr: "250788123123", ton: 0, npi: 1 } },
    {
      name: "reference §3.1: 'source-addr-ton/npi (2/1)' can be forced per bind",
      address: "250788123123",
      role: "source",
      override: { ton: 2, npi: 1 },
      expected: { addr: "250788123123", ton: 2, npi: 1 },
    },
    { name: "surrounding spaces are trimmed", address: " +4512345678 ", role: "destination", expected: { addr: "4512345678", ton: 1, npi: 1 } },
    { name: "an 11-character alphanumeric sender is the longest allowed", address: "ABCDEFGHIJK", role: "source", expected: { addr: "ABCDEFGHIJK", ton: 5, npi: 0 } },
    { name: "a 12-character alphanumeric sender is refused", address: "ABCDEFGHIJKL", role: "source", expected: /alphanumeric sender of at most 11/ },
    { name: "a non-ASCII alphanumeric sender is refused", address: "Café", role: "source", expected: /alphanumeric/ },
    { name: "an alphanumeric destination is refused", address: "Nyaruka", role: "destination", expected: /destination address "Nyaruka"/ },
    { name: "more than 20 digits do not fit the 21-octet field", address: "+123456789012345678901", role: "destination", expected: /up to 20 digits/ },
    { name: "an empty address", address: "", role: "destination", expected: /empty/ },
    { name: "not a string", address: 12345, role: "source", expected: /not a string/ },
    { name: "a bad override", address: "+1555", role: "source", override: { ton: 256 }, expected: /TON override 256/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = typeAddress(c.address, c.role, c.override);
      if (c.expected instanceof RegExp) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, c.expected);
      } else {
        assert.equal(result.ok, true, result.ok ? "" : result.reason);
        if (result.ok) assert.deepEqual({ addr: result.addr, ton: result.ton, npi: result.npi }, c.expected);
      }
    });
  }
});

describe("addresses read from a deliver_sm", () => {
  const cases = [
    { name: "an international number (TON 1) gets its + back, so RapidPro sees E.164", address: "250788123123", ton: 1, expected: "+250788123123" },
    { name: "any other TON is left as it is", address: "250788123123", ton: 0, expected: "250788123123" },
    { name: "an alphanumeric sender stays as it is, even with TON 1", address: "Bank", ton: 1, expected: "Bank" },
    { name: "a trailing NUL is not part of the address", address: "1234\0", ton: 3, expected: "1234" },
    { name: "not a string gives an empty address", address: undefined, ton: 1, expected: "" },
  ];
  for (const c of cases) test(c.name, () => assert.equal(addressFromPdu(c.address, c.ton), c.expected));
});
