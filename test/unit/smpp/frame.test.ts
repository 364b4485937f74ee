/** frame.ts on its own: cutting a stream into PDUs, and the message octets check. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import { ESME_RINVMSGLEN } from "../../../lib/smpp/command-status";
import { readDeliverSm } from "../../../lib/smpp/deliver";
import { PduReader, checkMessageOctets, decodeFrame } from "../../../lib/smpp/frame";
import { COMMAND_IDS, deliverSmBody, pduBytes } from "../../helpers/hostile-smsc";

describe("PduReader: command_length says where each PDU ends", () => {
  const a = pduBytes(COMMAND_IDS.enquire_link, 1);
  const b = pduBytes(COMMAND_IDS.deliver_sm, 2, deliverSmBody().body);
  test("two PDUs in one chunk, and one PDU across three chunks", () => {
    const reader = new PduReader();
    assert.deepEqual(reader.push(Buffer.concat([a, b])).frames, [a, b]);
    const parts = [b.subarray(0, 3), b.subarray(3, 20), b.subarray(20)];
    assert.deepEqual(parts.map((p) => reader.push(p).frames.length), [0, 0, 1]);
  });
  test("an unreadable length ends the stream: what follows is never cut into PDUs", () => {
    const reader = new PduReader();
    const out = reader.push(Buffer.concat([a, Buffer.from([0, 0, 0, 3]), b]));
    assert.deepEqual(out.frames, [a]);
    assert.deepEqual(out.unreadable, { reason: "command_length 3 is below the 16-octet header", sequence: 0 });
    assert.deepEqual(reader.push(b), { frames: [] });
  });
});

describe("decodeFrame", () => {
  test("a refused request is answered by a header-only <command>_resp with its sequence", () => {
    const out = decodeFrame(pduBytes(COMMAND_IDS.enquire_link, 9, Buffer.from([1, 2])));
    assert.equal(out.kind, "refused");
    if (out.kind !== "refused") return;
    assert.equal(out.answer.toString("hex"), "00000010" + "80000015" + "00000002" + "00000009");
    assert.match(out.refusal.reason, /enquire_link has no body, but command_length is 18/);
  });
  test("a checked deliver_sm carries its raw octets, UDH included", () => {
    const message = Buffer.from("050003010201" + "4869", "hex");
    const out = decodeFrame(pduBytes(COMMAND_IDS.deliver_sm, 3, deliverSmBody({ esm_class: 0x40, short_message: message }).body));
    assert.ok(out.kind === "pdu");
    if (out.kind === "pdu") assert.deepEqual(out.pdu.short_message, message);
  });
});

describe("decodeFrame: submit_sm_resp read directly is the package's own PDU (SMPP 3.4 §4.4.2: message_id C-Octet String, var. max 65)", () => {
  const id = (text: string) => Buffer.from(`${text}\0`, "ascii");
  const tlv = Buffer.from("0420000100", "hex"); // additional_status_info_text-like TLV after the id: the package reads it
  const cases: Array<{ name: string; status: number; body: Buffer }> = [
    { name: "accepted, with its message_id", status: 0, body: id("0a1b2c3d") },
    { name: "accepted, empty message_id", status: 0, body: id("") },
    { name: "refused, header only (no body, §4.4.2 note)", status: 0x58, body: Buffer.alloc(0) },
    { name: "refused, empty message_id", status: 0x45, body: id("") },
    { name: "message_id with a TLV after it", status: 0, body: Buffer.concat([id("77"), tlv]) },
    { name: "message_id without its NUL", status: 0, body: Buffer.from("abc", "ascii") },
    { name: "octets after the NUL that are no TLV", status: 0, body: Buffer.concat([id("9"), Buffer.from([1, 2])]) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const frame = pduBytes(COMMAND_IDS.submit_sm_resp, 41, c.body, c.status);
      const out = decodeFrame(frame);
      assert.ok(out.kind === "pdu");
      if (out.kind !== "pdu") return;
      const generic = new smpp.PDU(frame);
      assert.deepEqual({ ...out.pdu }, { ...generic });
      assert.ok(out.pdu instanceof smpp.PDU && out.pdu.isResponse());
    });
  }
});

describe("checkMessageOctets (TS 23.040 §9.2.3.24 UDH; UCS-2 is 2 octets a character)", () => {
  const cases: Array<{ name: string; hex: string; esmClass: number; alphabet?: "gsm7" | "ucs2"; fault?: RegExp }> = [
    { name: "GSM text without UDH", hex: "4869", esmClass: 0, alphabet: "gsm7" },
    { name: "UCS-2, even", hex: "00680069", esmClass: 0, alphabet: "ucs2" },
    { name: "UCS-2, odd", hex: "006800", esmClass: 0, alphabet: "ucs2", fault: /3 octets is not whole 2-octet units/ },
    { name: "UCS-2 after a UDH: the text, not the whole message, must be even", hex: "050003010201" + "0068", esmClass: 0x40, alphabet: "ucs2" },
    { name: "UCS-2 after a UDH, odd text", hex: "050003010201" + "00", esmClass: 0x40, alphabet: "ucs2", fault: /1 octets/ },
    { name: "UDH past the message", hex: "0a0003", esmClass: 0x40, alphabet: "gsm7", fault: /UDH of 11 octets/ },
    { name: "no UDHI: a first octet 0x0a is text", hex: "0a0003", esmClass: 0, alphabet: "gsm7" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const out = checkMessageOctets(Buffer.from(c.hex, "hex"), c.esmClass, c.alphabet);
      if (!c.fault) return assert.deepEqual(out, { ok: true });
      assert.ok(!out.ok && out.status === ESME_RINVMSGLEN);
      if (!out.ok) assert.match(out.reason, c.fault);
    });
  }
  test("readDeliverSm applies the same rule: odd UCS-2 is invalid with ESME_RINVMSGLEN", () => {
    const read = readDeliverSm({ data_coding: 8, short_message: Buffer.from("006800", "hex") });
    assert.deepEqual(read, { kind: "invalid", reason: "UCS-2 text of 3 octets is not whole 2-octet units", commandStatus: ESME_RINVMSGLEN });
  });
});
