/**
 * Rapporto's DLR push (reference aggregator-protocols.md §1.2, http_status.rst): its
 * parameters and its answers. Turning it into a status is lib/delivery/receipts.ts's work, driven
 * by DlrReceiver (lib/rapporto/receiver.ts).
 */
import type { StatusName } from "../contract";
import type { AnswerTable } from "../delivery/answers";
import { DLR_STATUS, UNIFIED_EXT_STATUS } from "./codes";
import { singleValues, type Parsed, type PushParams } from "./mo";

export interface DlrPush {
  msgType?: string;
  /** "provider message id returned by the MT request (64-bit) — required". */
  transactionId: string;
  ptag?: string;
  partnerMsgId?: string;
  /** The raw `status` value. */
  code: string;
  status: StatusName;
  /** What the status code means in the docs ("read" for 9). */
  meaning: string;
  unifiedExtStatus?: string;
  /** Why it failed, for a failed status. */
  reason?: string;
  params: Record<string, string>;
}

/** The reason text for a failed message: the extended status when given, else the status meaning. */
export function failureReason(unifiedExtStatus: string | undefined, meaning: string): string {
  if (unifiedExtStatus === undefined || unifiedExtStatus === "") return meaning;
  const known = UNIFIED_EXT_STATUS[unifiedExtStatus];
  return known ? `${known} (unifiedExtStatus ${unifiedExtStatus})` : `unifiedExtStatus ${unifiedExtStatus}`;
}

export function parseDlrPush(params: PushParams): Parsed<DlrPush> {
  const single = singleValues(params);
  if (!single.ok) return single;
  const p = single.value;
  if (!p.transactionId) return { ok: false, reason: "missing transactionId" };
  if (p.status === undefined || p.status === "") return { ok: false, reason: "missing status" };
  const known = DLR_STATUS[p.status];
  if (!known) return { ok: false, reason: `unknown status "${p.status}"` };
  return {
    ok: true,
    value: {
      msgType: p.msgType,
      transactionId: p.transactionId,
      ptag: p.ptag || undefined,
      partnerMsgId: p.partnerMsgId || undefined,
      code: p.status,
      status: known.status,
      meaning: known.meaning,
      unifiedExtStatus: p.unifiedExtStatus || undefined,
      reason: known.status === "failed" ? failureReason(p.unifiedExtStatus, known.meaning) : undefined,
      params: p,
    },
  };
}

/**
 * How a DLR push is answered: "Partner answers 200 (final) — 400 (unknown transactionId/ptag)
 * or 500 make the provider retry". A status RapidPro refused for good gets 200 too: pushing it
 * again would be refused again.
 */
export const DLR_ANSWERS: AnswerTable<number> = {
  taken: 200,
  again: 500,
  refused: 200,
  "not-yet": 400,
};
