/**
 * Rapporto's MO push (reference §1.2, http_mo.rst): the parameters it sends, the optional
 * `hash` signature, and how the partner answers.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { MO } from "../contract";
import { moSender } from "../delivery/addresses";
import { quoted, shown } from "../text/peer-value";
import { localToIso } from "./time";

/** Query or form parameters as a body parser gives them: a repeated name becomes an array. */
export type PushParams = Record<string, string | string[] | undefined>;

export interface MoPush {
  mo: MO;
  /** "unique id": the key for duplicate suppression. */
  messageId?: string;
  serviceId?: string;
  /** `sum_sms`: number of parts. */
  parts?: number;
  /** Every parameter received, so a flow can use connectorId, mtSent, clientPhone and the rest. */
  params: Record<string, string>;
  /** Things that were odd but not worth refusing the message for. */
  warnings: string[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Query and form parameters of a push together; a name given more than once becomes an array. */
export function readPushParams(query: string, body: string): PushParams {
  const params: PushParams = {};
  for (const source of [query, body]) {
    for (const [name, value] of new URLSearchParams(source)) {
      const known = params[name];
      params[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
    }
  }
  return params;
}

/** One value per name; a name given twice is refused, since either could be the real one. */
export function singleValues(params: PushParams): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) return { ok: false, reason: `parameter ${shown(name)} is given ${value.length} times` };
    if (typeof value === "string") out[name] = value;
  }
  return { ok: true, value: out };
}

/**
 * Turns an MO push into the MO contract. Only a missing `clientId` or `message` refuses it:
 * anything else missing or odd is a warning, because a refused MO is retried and, after
 * enough tries, lost.
 */
export function parseMoPush(params: PushParams, options: { timeZone: string; now?: () => Date }): Parsed<MoPush> {
  const single = singleValues(params);
  if (!single.ok) return single;
  const p = single.value;
  if (!p.clientId) return { ok: false, reason: "missing clientId" };
  if (p.message === undefined) return { ok: false, reason: "missing message" };
  const warnings: string[] = [];
  let date: string;
  try {
    if (p.receivedDate === undefined) throw new Error("no receivedDate");
    date = localToIso(p.receivedDate, options.timeZone);
  } catch (err) {
    date = (options.now ?? (() => new Date()))().toISOString();
    warnings.push(`${(err as Error).message}; using the time of arrival`);
  }
  const to = p.shortNumber ?? p.serviceId ?? "";
  if (p.shortNumber === undefined) warnings.push("no shortNumber; using serviceId as the destination");
  let parts: number | undefined;
  if (p.sum_sms !== undefined) {
    parts = Number(p.sum_sms);
    if (!Number.isInteger(parts) || parts < 1) {
      warnings.push(`sum_sms is not a positive number: ${quoted(p.sum_sms)}`);
      parts = undefined;
    }
  }
  return {
    ok: true,
    // "clientId (subscriber)": its number in international format without `+` (79161234567);
    // RapidPro gets it in E.164 (lib/delivery/addresses.ts).
    value: { mo: { from: moSender(p.clientId, true), to, text: p.message, date }, messageId: p.messageId || undefined, serviceId: p.serviceId, parts, params: p, warnings },
  };
}

/** "Base64 of HMAC-SHA256 over clientId+message+messageId, raw values, UTF-8, key issued by provider". */
export function moSignature(clientId: string, message: string, messageId: string, key: string): string {
  return createHmac("sha256", Buffer.from(key, "utf8")).update(`${clientId}${message}${messageId}`, "utf8").digest("base64");
}

/**
 * Checks the `hash` parameter. Base64 contains `+`, which an unencoded query turns into a
 * space, so spaces are read back as `+`. Never says what the right hash would have been.
 */
export function verifyMoSignature(params: Record<string, string>, key: string): Parsed<true> {
  const given = params.hash;
  if (!given) return { ok: false, reason: "no hash parameter" };
  const expected = Buffer.from(moSignature(params.clientId ?? "", params.message ?? "", params.messageId ?? "", key));
  const actual = Buffer.from(given.replace(/ /g, "+"));
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return { ok: false, reason: "hash does not match" };
  return { ok: true, value: true };
}

/**
 * The body of a 200 answer. "Several replies = several lines separated by CR LF; CR alone =
 * newline inside a reply": so each array element is one reply, and a line break inside one
 * reply becomes a lone CR.
 */
export function formatMoReply(reply: string | readonly string[]): string {
  const replies = typeof reply === "string" ? [reply] : reply;
  return replies.map((r) => r.replace(/\r\n|\n/g, "\r")).join("\r\n");
}

export type MoOutcome =
  | { kind: "handed-on" }
  | { kind: "reply"; text: string | readonly string[] }
  | { kind: "not-handed-on"; reason: string }
  /** RapidPro refused it for good: delivering it again would change nothing. */
  | { kind: "rejected"; reason: string }
  | { kind: "refused"; reason: string }
  | { kind: "malformed"; reason: string };

export interface PushAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/**
 * How the partner answers an MO: 204 "processed, no reply (body must be empty)"; 200 "body is
 * sent to the subscriber as reply"; 5xx when we could not take it, so Rapporto keeps it in its
 * deferred queue and delivers it again; 403 for a source or signature we refuse outright;
 * 400 for a request we cannot read, or an MO RapidPro refused for good ("4xx/5xx = error
 * (logged, not sent...)": the closest Rapporto has to "do not deliver it again").
 */
export function moAnswer(outcome: MoOutcome): PushAnswer {
  switch (outcome.kind) {
    case "handed-on":
      return { status: 204, body: "" };
    case "reply": {
      const body = formatMoReply(outcome.text);
      return body === "" ? { status: 204, body: "" } : { status: 200, body, contentType: "text/plain; charset=utf-8" };
    }
    case "not-handed-on":
      return { status: 503, body: outcome.reason, contentType: "text/plain; charset=utf-8" };
    case "malformed":
    case "rejected":
      return { status: 400, body: outcome.reason, contentType: "text/plain; charset=utf-8" };
    case "refused":
      return { status: 403, body: outcome.reason, contentType: "text/plain; charset=utf-8" };
  }
}
