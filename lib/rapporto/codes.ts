/**
 * Rapporto HTTP API v5.0 facts as data (reference: aggregator-protocols.md §1.2, from
 * rapporto/docs source/api/http/http_sms.rst and http_status.rst).
 */
import type { StatusName } from "../contract";

export interface ReplyCode {
  meaning: string;
  /** Worth sending again later (the docs' "partner action"). */
  temporary: boolean;
  /** The provider asked us to slow down. */
  throttled?: boolean;
  /** Sending the same request again might deliver it twice unless partnerMsgId is used. */
  ambiguous?: boolean;
}

/** MT reply HTTP codes other than 200, with the partner action the docs give. */
export const MT_REPLY_CODES: Readonly<Record<number, ReplyCode>> = {
  400: { meaning: "missing or bad parameters", temporary: false },
  401: { meaning: "bad serviceId or pass", temporary: false },
  402: { meaning: "prepaid balance exhausted", temporary: false },
  403: { meaning: "service unknown or inactive", temporary: false },
  406: { meaning: "cannot send to this clientId", temporary: false },
  408: { meaning: "rate exceeded", temporary: true, throttled: true },
  409: { meaning: "duplicate blocked", temporary: false },
  414: { meaning: "message too long", temporary: false },
  500: { meaning: "provider internal error", temporary: true, ambiguous: true },
  503: { meaning: "a request with the same partnerMsgId is still in progress", temporary: true },
};

/** Any other code: a 4xx is our fault and a 5xx theirs, the usual HTTP reading. */
export function replyCode(code: number): ReplyCode {
  const known = MT_REPLY_CODES[code];
  if (known) return known;
  return code >= 500 ? { meaning: `HTTP ${code}`, temporary: true, ambiguous: true } : { meaning: `HTTP ${code}`, temporary: false };
}

export interface DlrStatusCode {
  status: StatusName;
  meaning: string;
}

/** DLR `status` values and the contract status each one becomes. */
export const DLR_STATUS: Readonly<Record<string, DlrStatusCode>> = {
  "0": { status: "sent", meaning: "sent to operator, final status unknown" },
  "2": { status: "delivered", meaning: "delivered" },
  "5": { status: "failed", meaning: "not delivered" },
  "9": { status: "delivered", meaning: "read" },
};

/** DLR `unifiedExtStatus` reasons for SMS. */
export const UNIFIED_EXT_STATUS: Readonly<Record<string, string>> = {
  "1": "unknown",
  "2": "subscriber absent",
  "3": "subscriber barred or blocked",
  "4": "SS7 transport error",
  "5": "memory full",
  "6": "SMS service not provisioned",
  "7": "switch not responding",
  "8": "bad or long-inactive number",
  "9": "platform duplicate filter",
  "10": "platform filter (spam)",
  "11": "routing error",
  "12": "operator black list",
  "13": "unregistered sender name",
  "14": "operator text spam filter",
};

/** Documented ceiling of the HTTP interface: "peak traffic doesn't exceed 10 messages per second". */
export const DOCUMENTED_RATE_PER_SECOND = 10;

/** How long a partner may take to answer an MO push: "10 s unless agreed". */
export const MO_ANSWER_TIMEOUT_MS = 10_000;
