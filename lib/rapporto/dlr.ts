/**
 * Rapporto's DLR push (reference §1.2, http_status.rst): parsing, and turning it into a
 * status for the RapidPro message it belongs to.
 */
import type { Status, StatusName } from "../contract";
import { applyPartState } from "../store/aggregate";
import type { CorrelationStore, PartState } from "../store/types";
import { DLR_STATUS, UNIFIED_EXT_STATUS } from "./codes";
import { singleValues, type Parsed, type PushAnswer, type PushParams } from "./mo";

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

/** Counts how often each unknown id was pushed, bounded in memory and time. */
export class AttemptCounter {
  private readonly counts = new Map<string, { count: number; expires: number }>();

  constructor(private readonly windowMs: number, private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  /** Records one more attempt and returns how many there have been in the window. */
  hit(key: string): number {
    const now = this.now();
    const current = this.counts.get(key);
    const count = current && current.expires > now ? current.count + 1 : 1;
    this.counts.delete(key);
    this.counts.set(key, { count, expires: now + this.windowMs });
    for (const oldest of this.counts.keys()) {
      if (this.counts.size <= this.maxEntries) break;
      this.counts.delete(oldest);
    }
    return count;
  }

  forget(key: string): void {
    this.counts.delete(key);
  }
}

export type DlrDecision =
  /**
   * Emit this status on the first output; once it is safely handed on, call `commit` (when
   * given: the status came through the store) and then answer.
   */
  | { kind: "report"; status: Status; dlr: DlrPush; answer: PushAnswer; commit?: () => Promise<void> }
  /** Known message, but nothing new to report (a repeat, or a status that would go backwards). */
  | { kind: "no-change"; dlr: DlrPush; answer: PushAnswer }
  /** Not known yet: answer 400 so Rapporto pushes it again. */
  | { kind: "retry-later"; dlr: DlrPush; attempt: number; answer: PushAnswer }
  /** Not known after every try and no id in ptag/partnerMsgId: the second output. */
  | { kind: "unknown"; dlr: DlrPush; answer: PushAnswer }
  | { kind: "malformed"; reason: string; answer: PushAnswer }
  /** The store failed: 500 so Rapporto pushes it again. */
  | { kind: "store-error"; reason: string; answer: PushAnswer };

const PART_STATE: Record<StatusName, PartState> = { sent: "sent", delivered: "delivered", failed: "failed" };

function storeError(err: unknown): DlrDecision {
  return { kind: "store-error", reason: `correlation store failed: ${(err as Error).message}`, answer: text(500, "temporary failure") };
}

const text = (status: number, body: string): PushAnswer => ({ status, body, contentType: "text/plain; charset=utf-8" });

export interface DlrResolverOptions {
  /** Pushes of an unknown id answered 400 before giving up on the store (1 = give up at once). */
  maxTries: number;
  /** How long attempts of one id are counted. */
  windowMs?: number;
  maxTracked?: number;
}

/**
 * Finds the RapidPro message a DLR belongs to. The correlation store is asked first: its
 * record exists once the MT reply has left rapporto-mt, so a receipt found there cannot
 * overtake the MT result on its way to RapidPro, and the store keeps statuses from going
 * backwards. A receipt the store does not know yet may have overtaken the MT reply ("400
 * (unknown transactionId/ptag) ... make the provider retry"), so it is answered 400 until
 * `maxTries`; then the RapidPro id is taken from ptag or partnerMsgId when the MT carried one,
 * and otherwise the receipt goes to the second output.
 */
export class DlrResolver {
  private readonly attempts: AttemptCounter;

  constructor(private readonly store: CorrelationStore, private readonly options: DlrResolverOptions) {
    this.attempts = new AttemptCounter(options.windowMs ?? 24 * 60 * 60 * 1000, options.maxTracked ?? 10_000);
  }

  async handle(params: PushParams): Promise<DlrDecision> {
    const parsed = parseDlrPush(params);
    if (!parsed.ok) return { kind: "malformed", reason: parsed.reason, answer: text(400, parsed.reason) };
    const dlr = parsed.value;
    let record;
    try {
      record = await this.store.findByPart(dlr.transactionId);
    } catch (err) {
      return storeError(err);
    }
    if (record) {
      this.attempts.forget(dlr.transactionId);
      const state = PART_STATE[dlr.status];
      const commit = async (): Promise<void> => {
        await this.store.markPart(dlr.transactionId, state, dlr.reason);
      };
      // Work out the report on a copy: the store is only changed by `commit`, once the
      // status is safely on its way, so a push answered 500 is reported again on its retry.
      const copy = { ...record, parts: [...record.parts], states: [...record.states] };
      const update = applyPartState(copy, copy.parts.indexOf(dlr.transactionId), state, dlr.reason);
      if (!update.report) {
        try {
          await commit();
        } catch (err) {
          return storeError(err);
        }
        return { kind: "no-change", dlr, answer: text(200, "OK") };
      }
      const status: Status = { id: update.rapidproId, status: update.report.status, smscId: dlr.transactionId };
      if (update.report.reason !== undefined) status.reason = update.report.reason;
      return { kind: "report", status, dlr, answer: text(200, "OK"), commit };
    }
    const attempt = this.attempts.hit(dlr.transactionId);
    if (attempt < this.options.maxTries) {
      return { kind: "retry-later", dlr, attempt, answer: text(400, "unknown transactionId") };
    }
    this.attempts.forget(dlr.transactionId);
    const id = dlr.ptag ?? dlr.partnerMsgId;
    if (id === undefined) return { kind: "unknown", dlr, answer: text(200, "OK") };
    const status: Status = { id, status: dlr.status, smscId: dlr.transactionId };
    if (dlr.reason !== undefined) status.reason = dlr.reason;
    return { kind: "report", status, dlr, answer: text(200, "OK") };
  }
}
