/**
 * Delivery receipts: the TLVs first (receipted_message_id, message_state,
 * network_error_code), then the SMPP 3.4 Appendix B text, read tolerantly: fields by
 * prefix, in any order, any letter case, none required but the id.
 * Also the message-id normalisation needed to find the submit a receipt belongs to.
 */
import type { StatusName } from "../contract";

interface StateRow {
  /** The Appendix B `stat:` word. */
  stat: string;
  /** The message_state TLV value (SMPP 3.4 §5.2.28; 0 and 9 from SMPP 5.0). */
  state?: number;
  status: StatusName;
}

/**
 * Receipt states and the RapidPro status each becomes. ACKED, BUFFRED and BUFFERD are the
 * extra words Kannel accepts as "buffered"; like every non-final state they mean "sent".
 */
const STATES: ReadonlyArray<StateRow> = [
  { stat: "SCHEDULED", state: 0, status: "sent" },
  { stat: "ENROUTE", state: 1, status: "sent" },
  { stat: "DELIVRD", state: 2, status: "delivered" },
  { stat: "EXPIRED", state: 3, status: "failed" },
  { stat: "DELETED", state: 4, status: "failed" },
  { stat: "UNDELIV", state: 5, status: "failed" },
  { stat: "ACCEPTD", state: 6, status: "sent" },
  { stat: "UNKNOWN", state: 7, status: "failed" },
  { stat: "REJECTD", state: 8, status: "failed" },
  { stat: "SKIPPED", state: 9, status: "failed" },
  { stat: "ACKED", status: "sent" },
  { stat: "BUFFRED", status: "sent" },
  { stat: "BUFFERD", status: "sent" },
];

const BY_STAT = new Map(STATES.map((row) => [row.stat, row]));
const BY_STATE = new Map(STATES.filter((row) => row.state !== undefined).map((row) => [row.state, row]));

/** The Appendix B fields as found in a receipt text; every one may be missing. */
export interface ReceiptText {
  id?: string;
  sub?: string;
  dlvrd?: string;
  submitDate?: string;
  doneDate?: string;
  stat?: string;
  err?: string;
  text?: string;
}

/** Field name as written in the text → our name. `text:` takes the rest of the line. */
const TEXT_FIELDS: ReadonlyArray<readonly [string, keyof ReceiptText]> = [
  ["id", "id"],
  ["sub", "sub"],
  ["dlvrd", "dlvrd"],
  ["submit date", "submitDate"],
  ["done date", "doneDate"],
  ["stat", "stat"],
  ["err", "err"],
];

/** Each field's pattern: its name after a space or at the start, any case, then `:value`. */
const FIELD_PATTERNS = TEXT_FIELDS.map(([label, key]) => [new RegExp(`(?:^|\\s)${label.replace(" ", "\\s+")}:(\\S*)`, "i"), key] as const);

/** Dates are YYMMDDhhmm in the appendix; SMSCs add seconds or a century, up to 14 digits. */
const DATE_FIELDS: ReadonlySet<keyof ReceiptText> = new Set(["submitDate", "doneDate"]);
const DATE_PATTERN = /^[0-9]{10,14}$/;

/** Reads the Appendix B fields from a receipt text. Never throws; unknown fields are ignored. */
export function parseReceiptText(text: string): ReceiptText {
  const found: ReceiptText = {};
  const textMatch = /(?:^|\s)text:/i.exec(text);
  const head = textMatch ? text.slice(0, textMatch.index) : text;
  if (textMatch) found.text = text.slice(textMatch.index + textMatch[0].length);
  for (const [pattern, key] of FIELD_PATTERNS) {
    const match = pattern.exec(head);
    if (!match || match[1] === "") continue;
    if (DATE_FIELDS.has(key) && !DATE_PATTERN.test(match[1])) continue;
    found[key] = match[1];
  }
  return found;
}

export interface ReceiptFields {
  receipted_message_id?: unknown;
  message_state?: unknown;
  network_error_code?: unknown;
  /** The decoded short_message (or message_payload) text. */
  text?: string;
}

export interface Receipt {
  /** The SMSC's id for the submitted message, as the receipt gives it. */
  messageId: string;
  status: StatusName;
  /** The Appendix B state word, e.g. DELIVRD, or the word for the message_state value. */
  stat: string;
  err?: string;
  /** network_error_code TLV: network type and error, e.g. "1:0005" (GSM, 5). */
  networkError?: string;
  /** Set for failures: what RapidPro shows as the reason. */
  reason?: string;
  fields: ReceiptText;
}

export type ReceiptResult = { ok: true; receipt: Receipt } | { ok: false; reason: string };

/** receipted_message_id is a C-octet string of at most 65 octets. */
const MAX_MESSAGE_ID = 65;

function networkError(value: unknown): string | undefined {
  if (!Buffer.isBuffer(value) || value.length !== 3) return undefined;
  return `${value[0]}:${value.readUInt16BE(1).toString(16).padStart(4, "0")}`;
}

/** Turns a receipt's TLVs and text into a status for one submitted message id. */
export function readReceipt(fields: ReceiptFields): ReceiptResult {
  const parsed = typeof fields.text === "string" ? parseReceiptText(fields.text) : {};
  const tlvId = typeof fields.receipted_message_id === "string" ? fields.receipted_message_id.replace(/\0+$/, "").trim() : "";
  const messageId = tlvId || parsed.id || "";
  if (!messageId) return { ok: false, reason: "receipt carries no message id (no receipted_message_id TLV, no id: field)" };
  if (messageId.length > MAX_MESSAGE_ID) return { ok: false, reason: `receipt message id is longer than ${MAX_MESSAGE_ID} characters` };

  const byState = typeof fields.message_state === "number" ? BY_STATE.get(fields.message_state) : undefined;
  const stat = parsed.stat?.toUpperCase();
  const row = byState ?? (stat ? BY_STAT.get(stat) : undefined);
  if (!row && !stat) return { ok: false, reason: `receipt for ${messageId} carries no state (no message_state TLV, no stat: field)` };
  // Like Kannel, a state word we do not know counts as a failure: it is not DELIVRD, and
  // leaving the message "sent" forever would hide it.
  const status: StatusName = row?.status ?? "failed";
  const word = row?.stat ?? stat ?? "UNKNOWN";
  const receipt: Receipt = { messageId, status, stat: word, fields: parsed };
  if (parsed.err) receipt.err = parsed.err;
  const network = networkError(fields.network_error_code);
  if (network) receipt.networkError = network;
  if (status === "failed") {
    receipt.reason = [word, parsed.err ? `err:${parsed.err}` : "", network ? `network_error:${network}` : ""].filter(Boolean).join(" ");
  }
  return { ok: true, receipt };
}

/**
 * How the SMSC writes message ids in receipts compared with submit_sm_resp:
 * - "asis": the same string, compared exactly;
 * - "decimal": receipts give in decimal the id the response gave in hex;
 * - "hex": receipts give in hex the id the response gave in decimal;
 * - "auto": try the id itself, then either conversion its characters allow.
 * Every mode but "asis" also ignores letter case and leading zeros.
 */
export type MessageIdMode = "asis" | "hex" | "decimal" | "auto";

const DECIMAL = /^[0-9]+$/;
const HEX = /^[0-9A-F]+$/;

function normalised(id: string): string {
  const upper = id.trim().toUpperCase();
  return upper.replace(/^0+(?=.)/, "");
}

/** The key to store a submit_sm_resp message id under. Use the same mode for receipts. */
export function submitIdKey(id: string, mode: MessageIdMode): string {
  return mode === "asis" ? id : normalised(id);
}

/**
 * The keys to look a receipt's message id up under, best first. Each equals what
 * `submitIdKey` gives for a submit_sm_resp id that the receipt id may stand for.
 */
export function receiptIdKeys(id: string, mode: MessageIdMode): string[] {
  if (mode === "asis") return [id];
  const key = normalised(id);
  const keys = [key];
  if ((mode === "decimal" || mode === "auto") && DECIMAL.test(key)) keys.push(BigInt(key).toString(16).toUpperCase());
  if ((mode === "hex" || mode === "auto") && HEX.test(key)) keys.push(BigInt(`0x${key}`).toString(10));
  return [...new Set(keys)];
}
