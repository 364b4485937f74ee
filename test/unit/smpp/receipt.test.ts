import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseReceiptText, readReceipt, receiptIdKeys, submitIdKey, type MessageIdMode, type ReceiptFields } from "../../../lib/smpp/receipt";

const APPENDIX_B = "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text: . . . . . . . . .";

describe("parsing the Appendix B receipt text", () => {
  const cases = [
    {
      name: "reference §5.1 typical example: 'id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text: ...'",
      text: "id:0123456789 sub:001 dlvrd:001 submit date:2311231015 done date:2311231016 stat:DELIVRD err:000 Text:Hello there",
      expected: { id: "0123456789", sub: "001", dlvrd: "001", submitDate: "2311231015", doneDate: "2311231016", stat: "DELIVRD", err: "000", text: "Hello there" },
    },
    {
      name: "reference §5.1: '`text:` in lower case, or missing'",
      text: "id:77 stat:UNDELIV err:005 text:hi",
      expected: { id: "77", stat: "UNDELIV", err: "005", text: "hi" },
    },
    {
      name: "reference §5.1: 'Parse tolerantly: by field prefix, in any order, with no field required other than `id`'",
      text: "stat:EXPIRED err:027 id:abc-123 dlvrd:000 sub:001",
      expected: { id: "abc-123", stat: "EXPIRED", err: "027", dlvrd: "000", sub: "001" },
    },
    {
      name: "reference §5.1: 'many SMSCs add seconds: Kannel accepts up to 14 digits'",
      text: "id:1 submit date:231123101530 done date:20231123101631 stat:DELIVRD",
      expected: { id: "1", submitDate: "231123101530", doneDate: "20231123101631", stat: "DELIVRD" },
    },
    {
      name: "a date of fewer than 10 digits is not a date and is left out",
      text: "id:1 submit date:2311 stat:DELIVRD",
      expected: { id: "1", stat: "DELIVRD" },
    },
    {
      name: "reference §5.1: 'extra fields' (Rapporto adds `seen date:`) are ignored",
      text: "id:5 sub:001 dlvrd:001 submit date:2311231015 done date:2311231016 stat:DELIVRD seen date:2311231017 err:0 text:x",
      expected: { id: "5", sub: "001", dlvrd: "001", submitDate: "2311231015", doneDate: "2311231016", stat: "DELIVRD", err: "0", text: "x" },
    },
    {
      name: "a field name inside the Text: part is not read as a field",
      text: "id:9 stat:DELIVRD Text:stat:REJECTD id:1",
      expected: { id: "9", stat: "DELIVRD", text: "stat:REJECTD id:1" },
    },
    { name: "the spec's placeholder example parses field by field", text: APPENDIX_B, expected: { id: "IIIIIIIIII", sub: "SSS", dlvrd: "DDD", stat: "DDDDDDD", err: "E", text: " . . . . . . . . ." } },
    { name: "free text is not a receipt: nothing found", text: "hello world", expected: {} },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(parseReceiptText(c.text), c.expected));
  }
});

describe("a receipt's status for RapidPro", () => {
  const cases: Array<{ name: string; fields: ReceiptFields; expected: { messageId: string; status: string; stat: string; reason?: string } | RegExp }> = [
    { name: "reference §9.6: 'DELIVRD (1) → delivered'", fields: { text: "id:1 stat:DELIVRD err:000" }, expected: { messageId: "1", status: "delivered", stat: "DELIVRD" } },
    { name: "reference §9.6: 'ENROUTE/ACCEPTD (4) → sent' (ENROUTE)", fields: { text: "id:1 stat:ENROUTE" }, expected: { messageId: "1", status: "sent", stat: "ENROUTE" } },
    { name: "reference §9.6: 'ENROUTE/ACCEPTD (4) → sent' (ACCEPTD)", fields: { text: "id:1 stat:ACCEPTD" }, expected: { messageId: "1", status: "sent", stat: "ACCEPTD" } },
    { name: "reference §9.6: 'UNDELIV/REJECTD/EXPIRED (2/16) → errored' (UNDELIV, with err)", fields: { text: "id:1 stat:UNDELIV err:005" }, expected: { messageId: "1", status: "failed", stat: "UNDELIV", reason: "UNDELIV err:005" } },
    { name: "REJECTD → failed", fields: { text: "id:1 stat:REJECTD err:00B" }, expected: { messageId: "1", status: "failed", stat: "REJECTD", reason: "REJECTD err:00B" } },
    { name: "EXPIRED → failed", fields: { text: "id:1 stat:EXPIRED" }, expected: { messageId: "1", status: "failed", stat: "EXPIRED", reason: "EXPIRED" } },
    { name: "DELETED → failed", fields: { text: "id:1 stat:DELETED" }, expected: { messageId: "1", status: "failed", stat: "DELETED", reason: "DELETED" } },
    { name: "UNKNOWN → failed", fields: { text: "id:1 stat:UNKNOWN" }, expected: { messageId: "1", status: "failed", stat: "UNKNOWN", reason: "UNKNOWN" } },
    { name: "reference §3.3: Kannel also accepts 'ACKED, BUFFRED, BUFFERD' as buffered → sent", fields: { text: "id:1 stat:BUFFRED" }, expected: { messageId: "1", status: "sent", stat: "BUFFRED" } },
    { name: "reference §3.3: 'stat mapping ... anything else → fail'", fields: { text: "id:1 stat:WEIRD" }, expected: { messageId: "1", status: "failed", stat: "WEIRD", reason: "WEIRD" } },
    { name: "state words in lower case are accepted", fields: { text: "id:1 stat:delivrd" }, expected: { messageId: "1", status: "delivered", stat: "DELIVRD" } },
    {
      name: "reference §5.2: 'Prefer the TLVs when they are present' (receipted_message_id and message_state over the text)",
      fields: { receipted_message_id: "ABC", message_state: 2, text: "id:XYZ stat:UNDELIV" },
      expected: { messageId: "ABC", status: "delivered", stat: "DELIVRD" },
    },
    { name: "reference §5.2: 'message_state ... 1 ENROUTE' → sent", fields: { receipted_message_id: "A", message_state: 1 }, expected: { messageId: "A", status: "sent", stat: "ENROUTE" } },
    { name: "reference §5.2: '3 EXPIRED' → failed", fields: { receipted_message_id: "A", message_state: 3 }, expected: { messageId: "A", status: "failed", stat: "EXPIRED", reason: "EXPIRED" } },
    { name: "reference §5.2: '4 DELETED' → failed", fields: { receipted_message_id: "A", message_state: 4 }, expected: { messageId: "A", status: "failed", stat: "DELETED", reason: "DELETED" } },
    { name: "reference §5.2: '5 UNDELIVERABLE' → failed", fields: { receipted_message_id: "A", message_state: 5 }, expected: { messageId: "A", status: "failed", stat: "UNDELIV", reason: "UNDELIV" } },
    { name: "reference §5.2: '6 ACCEPTED' → sent", fields: { receipted_message_id: "A", message_state: 6 }, expected: { messageId: "A", status: "sent", stat: "ACCEPTD" } },
    { name: "reference §5.2: '7 UNKNOWN' → failed", fields: { receipted_message_id: "A", message_state: 7 }, expected: { messageId: "A", status: "failed", stat: "UNKNOWN", reason: "UNKNOWN" } },
    { name: "reference §5.2: '8 REJECTED' → failed", fields: { receipted_message_id: "A", message_state: 8 }, expected: { messageId: "A", status: "failed", stat: "REJECTD", reason: "REJECTD" } },
    { name: "reference §5.2: 'v5.0 adds 0 SCHEDULED and 9 SKIPPED' (9 → failed)", fields: { receipted_message_id: "A", message_state: 9 }, expected: { messageId: "A", status: "failed", stat: "SKIPPED", reason: "SKIPPED" } },
    {
      name: "reference §5.2: 'network_error_code: TLV 0x0423, 3 octets (network type followed by a 2-octet error)' joins the reason",
      fields: { receipted_message_id: "A", message_state: 5, network_error_code: Buffer.from([1, 0x00, 0x05]) },
      expected: { messageId: "A", status: "failed", stat: "UNDELIV", reason: "UNDELIV network_error:1:0005" },
    },
    { name: "the TLV id with the text's state (message_state absent)", fields: { receipted_message_id: "TLV1", text: "id:0001 stat:DELIVRD" }, expected: { messageId: "TLV1", status: "delivered", stat: "DELIVRD" } },
    { name: "a trailing NUL on receipted_message_id is not part of the id", fields: { receipted_message_id: "A1\0", message_state: 2 }, expected: { messageId: "A1", status: "delivered", stat: "DELIVRD" } },
    { name: "no id anywhere", fields: { text: "stat:DELIVRD" }, expected: /no message id/ },
    { name: "an id but no state", fields: { text: "id:42 err:000" }, expected: /no state/ },
    { name: "reference §5.2: 'receipted_message_id ... up to 65 octets': a longer id is refused", fields: { receipted_message_id: "9".repeat(66), message_state: 2 }, expected: /longer than 65/ },
    { name: "hostile field types are ignored, not trusted", fields: { receipted_message_id: 42, message_state: "2", network_error_code: "x", text: "id:7 stat:DELIVRD" }, expected: { messageId: "7", status: "delivered", stat: "DELIVRD" } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = readReceipt(c.fields);
      if (c.expected instanceof RegExp) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, c.expected);
        return;
      }
      assert.equal(result.ok, true, result.ok ? "" : result.reason);
      if (!result.ok) return;
      const { messageId, status, stat, reason } = result.receipt;
      assert.deepEqual({ messageId, status, stat, ...(reason ? { reason } : {}) }, c.expected);
    });
  }
});

describe("message-id normalisation for the correlation store", () => {
  const cases: Array<{ name: string; submitted: string; receipt: string; mode: MessageIdMode; found: boolean }> = [
    {
      name: "reference §5.3: 'some SMSCs return a hex id in submit_sm_resp and the same id in decimal in the DLR text, e.g. 0012617184 (decimal) = 0xC085E0'",
      submitted: "C085E0",
      receipt: "0012617184",
      mode: "decimal",
      found: true,
    },
    { name: "the same pair is found in auto mode", submitted: "C085E0", receipt: "0012617184", mode: "auto", found: true },
    { name: "the same pair is NOT found in asis mode", submitted: "C085E0", receipt: "0012617184", mode: "asis", found: false },
    { name: "hex mode: the response gave decimal, the receipt gives hex", submitted: "12617184", receipt: "c085e0", mode: "hex", found: true },
    { name: "reference §5.3: 'leading-zero padding (`id:0000029095`, node-smpp #199)'", submitted: "29095", receipt: "0000029095", mode: "auto", found: true },
    { name: "reference §5.3: 'letter case'", submitted: "ab12cd", receipt: "AB12CD", mode: "auto", found: true },
    { name: "reference §4.2: Jasmin normalises by 'upper-cased, leading zeros stripped' even without conversion", submitted: "00ab", receipt: "AB", mode: "hex", found: true },
    { name: "asis compares exactly", submitted: "abc", receipt: "abc", mode: "asis", found: true },
    { name: "asis does not fold case", submitted: "abc", receipt: "ABC", mode: "asis", found: false },
    { name: "reference §5.1: 'ids of 16-20 digits' convert without losing precision", submitted: "FFFFFFFFFFFFFFFF", receipt: "18446744073709551615", mode: "decimal", found: true },
    { name: "a UUID-like id only matches itself", submitted: "3f2a-77", receipt: "3F2A-77", mode: "auto", found: true },
    { name: "the all-zero id stays one zero", submitted: "0", receipt: "0000", mode: "auto", found: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const key = submitIdKey(c.submitted, c.mode);
      assert.equal(receiptIdKeys(c.receipt, c.mode).includes(key), c.found, `keys ${JSON.stringify(receiptIdKeys(c.receipt, c.mode))} vs ${key}`);
    });
  }
  test("the receipt's own id is always the first key", () => {
    assert.equal(receiptIdKeys("0012617184", "auto")[0], "12617184");
  });
});
