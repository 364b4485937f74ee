/**
 * encodeSubmitSm writes exactly the bytes the `smpp` package writes for the same params, for
 * every shape buildSubmitSm produces, and declines (undefined) whatever it does not handle,
 * so the session falls back to the package.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import type { MT } from "../../../lib/contract";
import { encodeDeliverSmResp, encodeSubmitSm } from "../../../lib/smpp/encode";
import { buildSubmitSm, type SubmitSmOptions } from "../../../lib/smpp/submit";

const mt = (text: string, extra: Partial<MT> = {}): MT => ({ id: "m-1", to: "+250788123123", from: "Nyaruka", text, ...extra });

function viaPackage(params: Record<string, unknown>, sequence: number): Buffer {
  return new smpp.PDU("submit_sm", { ...params, sequence_number: sequence } as smpp.PduParams).toBuffer();
}

describe("encodeSubmitSm: the package's bytes for every shape buildSubmitSm makes", () => {
  const cases: Array<{ name: string; mt: MT; options?: SubmitSmOptions }> = [
    { name: "GSM text, alphanumeric sender", mt: mt("Hi @ {x} €") },
    { name: "UCS-2 with a surrogate pair", mt: mt("hi 😀 ça") },
    { name: "numeric sender and short code", mt: mt("hello", { from: "+250788000111", to: "2020" }) },
    { name: "long GSM text, 8-bit UDH", mt: mt("a".repeat(400)), options: { split: "udh8" } },
    { name: "long UCS-2 text, 16-bit UDH", mt: mt("é😀".repeat(60), {}), options: { split: "udh16", encoding: "ucs2" } },
    { name: "SAR parts with more_messages_to_send", mt: mt("b".repeat(300)), options: { split: "sar", moreMessagesToSend: true } },
    { name: "UDH parts with more_messages_to_send", mt: mt("c".repeat(300)), options: { moreMessagesToSend: true } },
    { name: "message_payload", mt: mt("d".repeat(1000)), options: { split: "payload" } },
    { name: "validity, priority, registered_delivery 0, service type", mt: mt("v"), options: { validityMinutes: 90, priority: 3, registeredDelivery: 0, serviceType: "CMT" } },
    { name: "empty text", mt: mt("") },
    { name: "Latin-1 preference", mt: mt("café"), options: { encoding: "latin1" } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const built = buildSubmitSm(c.mt, { nextReference: () => 0x1234, ...c.options });
      assert.ok(built.ok);
      built.pdus.forEach((params, i) => {
        const sequence = 0x7ffffff0 + i;
        const ours = encodeSubmitSm(params, sequence);
        assert.ok(ours, "encoded");
        assert.equal(ours.toString("hex"), viaPackage(params, sequence).toString("hex"));
        // And the package reads back what we wrote.
        const read = new smpp.PDU(ours);
        assert.equal(read.command, "submit_sm");
        assert.equal(read.sequence_number, sequence);
        assert.equal(read.destination_addr, params.destination_addr);
      });
    });
  }
});

describe("encodeSubmitSm declines what it does not write as the package would", () => {
  const base = (): Record<string, unknown> => {
    const built = buildSubmitSm(mt("hello"));
    assert.ok(built.ok);
    return { ...built.pdus[0] };
  };
  const declines: Array<{ name: string; change: (p: Record<string, unknown>) => void }> = [
    { name: "a string short_message (the package encodes it by data_coding)", change: (p) => (p.short_message = "text") },
    { name: "a short_message over 255 octets (the package throws)", change: (p) => (p.short_message = Buffer.alloc(300)) },
    { name: "an int8 field out of range", change: (p) => (p.esm_class = 256) },
    { name: "a non-integer field", change: (p) => (p.priority_flag = 1.5) },
    { name: "an unknown field", change: (p) => (p.user_message_reference = 7) },
    { name: "a relative time of 12 characters or fewer (the package pads it)", change: (p) => (p.validity_period = "000001") },
    { name: "a Date as schedule_delivery_time", change: (p) => (p.schedule_delivery_time = new Date()) },
    { name: "a field given as undefined", change: (p) => (p.source_addr = undefined) },
    { name: "a TLV given as undefined", change: (p) => (p.sar_msg_ref_num = undefined) },
  ];
  for (const d of declines) {
    test(d.name, () => {
      const params = base();
      d.change(params);
      assert.equal(encodeSubmitSm(params, 1), undefined);
    });
  }

  test("fields left out take the package's defaults", () => {
    const params = { destination_addr: "250788123123", short_message: Buffer.from("hi") };
    assert.equal(encodeSubmitSm(params, 9)?.toString("hex"), viaPackage(params, 9).toString("hex"));
  });
});

test("encodeDeliverSmResp: the package's deliver_sm_resp for success, temporary and permanent answers", () => {
  const deliver = new smpp.PDU("deliver_sm", { sequence_number: 0x12345678, short_message: Buffer.from("x") } as smpp.PduParams);
  for (const status of [0x00, 0x64, 0x65, 0x08]) {
    const expected = deliver.response({ command_status: status } as smpp.PduParams).toBuffer();
    assert.equal(encodeDeliverSmResp(0x12345678, status).toString("hex"), expected.toString("hex"), `status 0x${status.toString(16)}`);
  }
});
