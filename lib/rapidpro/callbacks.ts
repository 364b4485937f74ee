/**
 * The calls we make to courier's EX channel: new messages (MO), statuses and opt-outs.
 *
 * Courier reads only form parameters (the query or an urlencoded body; JSON is ignored), so
 * every call is an urlencoded POST. `URLSearchParams` encodes `+` as `%2B` and a space as `+`,
 * which is what Go's ParseForm expects (reference §2.2).
 */
import type { MO, Status } from "../contract";
import { isMessageUuid } from "./uuid";

export type CourierAction = "receive" | "sent" | "delivered" | "failed" | "stopped";

export interface CourierCall {
  action: CourierAction;
  /** Form body, already encoded. */
  body: string;
}

export type BuildResult = { ok: true; call: CourierCall } | { ok: false; reason: string };

export function courierUrl(baseUrl: string, channelUuid: string, action: CourierAction): string {
  return `${baseUrl.replace(/\/+$/, "")}/c/ex/${channelUuid}/${action}`;
}

export function receiveCall(mo: MO): BuildResult {
  if (!mo.from) return { ok: false, reason: "MO has no sender (payload.from)" };
  const form = new URLSearchParams({ from: mo.from, text: mo.text ?? "" });
  if (mo.date) {
    const date = toRfc3339(mo.date);
    if (!date) return { ok: false, reason: `MO date ${JSON.stringify(mo.date)} is not a date` };
    form.set("date", date);
  }
  return { ok: true, call: { action: "receive", body: form.toString() } };
}

/**
 * Courier's status routes take the message UUID as `uuid`; integer ids from servers older
 * than October 2025 go back as `id`, which both old and new courier read (reference §2.4).
 */
export function statusCall(status: Status): BuildResult {
  if (status.status !== "sent" && status.status !== "delivered" && status.status !== "failed") {
    return { ok: false, reason: `unknown status ${JSON.stringify(status.status)}: expected sent, delivered or failed` };
  }
  const id = String(status.id ?? "").trim();
  if (!id) return { ok: false, reason: "status has no message id (payload.id)" };
  const lower = id.toLowerCase();
  const form = isMessageUuid(lower) ? new URLSearchParams({ uuid: lower }) : new URLSearchParams({ id });
  return { ok: true, call: { action: status.status, body: form.toString() } };
}

/**
 * What makes one status unique: the message, the step, and the submission (its id at the
 * aggregator). The outbox queues a status once per once-id, so a status handed over just
 * before a crash is not queued again when the aggregator delivers its receipt again. A message
 * RapidPro sends again after it failed gets a new aggregator id, so its statuses still go.
 */
export function statusOnceId(status: Status): string {
  return `status\n${String(status.id ?? "").trim()}\n${status.status}\n${status.smscId ?? ""}`;
}

export function stoppedCall(from: string): BuildResult {
  if (!from) return { ok: false, reason: "opt-out has no sender (payload.from)" };
  return { ok: true, call: { action: "stopped", body: new URLSearchParams({ from }).toString() } };
}

/**
 * Courier parses dates with RFC 3339 only: a `T`, and a zone of `Z` or `±hh:mm` (reference
 * §2.3). Dates already in that form keep their offset; other parseable ISO forms (`+0200`,
 * a space instead of `T`) are rewritten in UTC. A date without a zone is refused: guessing
 * the zone would move the message in time.
 */
export function toRfc3339(date: string): string | undefined {
  const trimmed = date.trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(trimmed)) return trimmed.toUpperCase();
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed);
  if (!hasZone) return undefined;
  const parsed = new Date(trimmed.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}
