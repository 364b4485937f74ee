/**
 * The MT request and its reply, for both profiles. Pure functions: no I/O here, so every
 * documented parameter and reply can be tested as a table (reference §1.2 and §1.4).
 */
import { XMLParser } from "fast-xml-parser";
import type { MT } from "../contract";
import { textDigest } from "../delivery/submissions";
import { replyCode } from "./codes";
import type { Account, CompiledProfile, HttpMethod } from "./profile";

/** Per-message options beyond the MT contract. */
export interface MtOptions {
  /** Echoed in the DLR: "1–50 chars [0-9a-zA-Z-]". Defaults to the RapidPro id when it fits. */
  ptag?: string;
  /** Idempotency key: "resends with the same id are sent once and return the same provider id". */
  partnerMsgId?: string;
  /** v5 `sending_time`: local-time window `hh_hh`, e.g. `10_20`. Custom profile: the schedule value, in the partner's format. */
  sendingTime?: string;
  /** `±hh:mm` for `sending_time` (v5 `time_zone`). */
  timeZone?: string;
  flash?: boolean;
  /** Sender name for this message; the account's `source` otherwise. */
  source?: string;
}

export interface MtRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** Bad input from the flow: permanent, never worth sending. */
export class MtInputError extends Error {}

const PTAG = /^[0-9a-zA-Z-]{1,50}$/;
const SENDING_TIME = /^([01]?\d|2[0-4])_([01]?\d|2[0-4])$/;
const TIME_ZONE = /^[+-](0\d|1[0-4]):[0-5]\d$/;

/** A partnerMsgId of ours: the RapidPro id, a digest of the text, and the submission's number after a failure. */
const OUR_PARTNER_MSG_ID = /^(.*)\.[A-Za-z0-9_-]{10}(?:\.\d{1,2})?$/;

/**
 * The idempotency key of one courier request: "resends with the same id are sent once and
 * return the same provider id" (partnerMsgId, 1-50 characters). The parts of a long text courier
 * split share the RapidPro id (reference rapidpro-external-channel.md §4.1), so the key is the id
 * (its first 36 characters, a uuid's length), a digest of the part's text, and after `failures`
 * failed submissions of it their count: a resend is sent once, the parts are not taken for
 * resends of each other, and RapidPro's resend of a failed message is sent again.
 */
export function partnerMsgIdFor(id: string, text: string, failures = 0): string {
  const count = failures > 0 ? `.${Math.min(failures, 99)}` : "";
  return `${id.slice(0, 36)}.${textDigest(text).slice(0, 10)}${count}`;
}

/** The RapidPro id a partnerMsgId of ours carries (for a receipt with nothing else to go by). */
export function rapidproIdOfPartnerMsgId(partnerMsgId: string): string {
  return OUR_PARTNER_MSG_ID.exec(partnerMsgId)?.[1] || partnerMsgId;
}

/** The RapidPro id as a ptag, or undefined when it does not fit the documented format. */
export function ptagFor(id: string): string | undefined {
  return PTAG.test(id) ? id : undefined;
}

/**
 * UTF-8 percent-encoding of one value ("Inadmissible symbols in URL have to be coded
 * (URLEncoded) according to the UTF-8 coding"). `+` becomes %2B, never a space. A lone
 * surrogate (half an emoji cut by someone upstream) cannot be UTF-8, so it becomes U+FFFD
 * instead of throwing.
 */
export function encodeValue(value: string): string {
  return encodeURIComponent(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD"));
}

export function encodeForm(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  return pairs
    .filter((p): p is readonly [string, string] => p[1] !== undefined && p[1] !== "")
    .map(([name, value]) => `${encodeValue(name)}=${encodeValue(value)}`)
    .join("&");
}

function check(options: MtOptions, mt: MT, kind: CompiledProfile["kind"]): void {
  if (typeof mt.to !== "string" || mt.to.trim() === "") throw new MtInputError("no destination (payload.to)");
  if (mt.to.length > 25) throw new MtInputError(`destination is longer than the documented 25 characters: ${mt.to.length}`);
  if (typeof mt.text !== "string" || mt.text === "") throw new MtInputError("no text (payload.text)");
  if (options.ptag !== undefined && !PTAG.test(options.ptag)) throw new MtInputError(`ptag must be 1-50 characters [0-9a-zA-Z-]: "${options.ptag}"`);
  if (options.partnerMsgId !== undefined && (options.partnerMsgId.length < 1 || options.partnerMsgId.length > 50)) {
    throw new MtInputError("partnerMsgId must be 1-50 characters");
  }
  // The custom interface's schedule format is the partner's own (the public client sends a
  // timestamp), so only v5's documented window is checked.
  if (kind === "v5" && options.sendingTime !== undefined && !SENDING_TIME.test(options.sendingTime)) {
    throw new MtInputError(`sending_time must be a window hh_hh such as 10_20: "${options.sendingTime}"`);
  }
  if (options.timeZone !== undefined && !TIME_ZONE.test(options.timeZone)) {
    throw new MtInputError(`time_zone must be ±hh:mm such as +03:00: "${options.timeZone}"`);
  }
}

/** The parameters to send, in order, for either profile. */
export function mtParameters(account: Account & { profile: CompiledProfile }, mt: MT, options: MtOptions = {}): [string, string | undefined][] {
  check(options, mt, account.profile.kind);
  const source = options.source ?? account.source;
  const profile = account.profile;
  if (profile.kind === "v5") {
    return [
      ["clientId", mt.to],
      ["message", mt.text],
      ["serviceId", account.serviceId],
      ["pass", account.pass],
      ["source", source],
      ["ptag", options.ptag],
      ["partnerMsgId", options.partnerMsgId],
      ["sending_time", options.sendingTime],
      ["time_zone", options.sendingTime !== undefined || options.timeZone !== undefined ? options.timeZone : undefined],
      ["flash", options.flash ? "1" : undefined],
      ["output", profile.output === "xml" ? "xml" : undefined],
    ];
  }
  const p = profile.params;
  const pairs: [string | undefined, string | undefined][] = [
    [p.destination, mt.to],
    [p.text, mt.text],
    [p.sender, source],
    [p.login, account.serviceId],
    [p.password, account.pass],
    [p.partnerMsgId, options.partnerMsgId],
    [p.schedule, options.sendingTime],
  ];
  return pairs.filter((pair): pair is [string, string | undefined] => pair[0] !== undefined && pair[0] !== "");
}

/** Builds the HTTP request: a GET query or a POST form, every value UTF-8 URL-encoded. */
export function buildMtRequest(account: Account & { profile: CompiledProfile }, mt: MT, options: MtOptions = {}): MtRequest {
  const form = encodeForm(mtParameters(account, mt, options));
  if (account.profile.method === "POST") {
    return {
      method: "POST",
      url: account.url,
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", "content-length": String(Buffer.byteLength(form)) },
      body: form,
    };
  }
  const joiner = account.url.includes("?") ? "&" : "?";
  return { method: "GET", url: `${account.url}${joiner}${form}`, headers: {} };
}

export type MtReply =
  | { accepted: true; id: string }
  | { accepted: false; code: number | string; text: string; temporary: boolean; throttled?: boolean; ambiguous?: boolean };

const MAX_REASON = 200;

function shortText(body: string): string {
  const text = body.replace(/\s+/g, " ").trim();
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

function failure(code: number, body: string): MtReply {
  const known = replyCode(code);
  const text = shortText(body) || known.meaning;
  return { accepted: false, code, text, temporary: known.temporary, throttled: known.throttled, ambiguous: known.ambiguous };
}

/** A 2xx we cannot read: the message may well be on its way, so sending it again is not safe. */
function unreadable(body: string): MtReply {
  return { accepted: false, code: "reply", text: `unreadable reply: ${shortText(body) || "(empty)"}`, temporary: false, ambiguous: true };
}

/** "OK\n<id> where id is a positive 64-bit integer"; kept as a string so no digit is lost. */
const V5_TEXT_OK = /^OK\r?\n(\d{1,20})\s*$/;

// Tag values stay strings: ids are 64-bit and would lose digits as JavaScript numbers.
const xml = new XMLParser({ parseTagValue: false, ignoreDeclaration: true, trimValues: true });

function parseXmlReply(status: number, body: string): MtReply {
  let doc: { response?: { code?: unknown; text?: unknown; payload?: { id?: unknown } } };
  try {
    doc = xml.parse(body);
  } catch {
    return status >= 200 && status < 300 ? unreadable(body) : failure(status, body);
  }
  const response = doc?.response;
  const rawCode = response?.code;
  const code = typeof rawCode === "string" && /^\d{3}$/.test(rawCode) ? Number(rawCode) : NaN;
  if (!response || Number.isNaN(code)) return status >= 200 && status < 300 ? unreadable(body) : failure(status, body);
  if (code === 200) {
    const id = response.payload?.id;
    return typeof id === "string" && /^\d{1,20}$/.test(id) ? { accepted: true, id } : unreadable(body);
  }
  // "HTTP code is then 200 or 500 only": the real code is the one inside.
  return failure(code, typeof response.text === "string" ? response.text : "");
}

/** Reads an MT reply as the profile says. */
export function parseMtReply(profile: CompiledProfile, status: number, body: string): MtReply {
  if (profile.kind === "v5") {
    if (profile.output === "xml" && body.trimStart().startsWith("<")) return parseXmlReply(status, body);
    if (status !== 200) return failure(status, body);
    const match = V5_TEXT_OK.exec(body);
    return match ? { accepted: true, id: match[1] } : unreadable(body);
  }
  if (status < 200 || status >= 300) return failure(status, body);
  if (!profile.success.test(body)) return { accepted: false, code: status, text: shortText(body) || "reply did not match the success pattern", temporary: false };
  const id = profile.id.exec(body)?.groups?.id;
  return id ? { accepted: true, id } : unreadable(body);
}
