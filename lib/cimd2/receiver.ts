/**
 * The receiving side of a CIMD2 connection, independent of Node-RED: each op 20 becomes an MO
 * (long ones, UDH in `032`, reassembled in any order and their parts kept on disk meanwhile:
 * lib/delivery/mo-desk.ts), each op 23 a status (lib/delivery/receipts.ts, keyed by `060` and
 * `021` as lib/cimd2/report.ts says) or an unmatched report, and is answered with the response
 * CIMD2_ANSWERS gives for how its hand-over ended. cimd2-in is thin glue over this class, as
 * smpp-in is over lib/smpp/receiver.ts.
 */
import type { MO, Status } from "../contract";
import type { AnswerTable, HandOver } from "../delivery/answers";
import { MoDesk, type KeptParts } from "../delivery/mo-desk";
import { ReceiptDesk, UNMATCHED_LOOKUPS, type PartReceipt, type ReceiptStore } from "../delivery/receipts";
import type { DeliveredMessage, Delivery, DeliveryAnswer } from "./deliver";
import { REDELIVER_ERROR } from "./errors";
import type { StatusReport } from "./report";

/** `900` code for what RapidPro refused for good: "syntax error", which no SMSC retries as it is. */
export const REFUSED_ERROR = 2;
/** `900` code for an MO whose content is not text: "unsupported data coding scheme". */
export const NOT_TEXT_ERROR = 711;

/**
 * The response each abstract answer gets (docs/design.md decision 23): a plain 70 / 73 when
 * taken; `900:710` "generic failure" when it must come again (the SMSC keeps it); `900:2` when
 * RapidPro refused it for good.
 */
export const CIMD2_ANSWERS: AnswerTable<DeliveryAnswer> = {
  taken: { ok: true },
  again: { ok: false, code: REDELIVER_ERROR, text: "not handed over yet, deliver again later" },
  refused: { ok: false, code: REFUSED_ERROR, text: "refused by RapidPro" },
  "not-yet": { ok: false, code: REDELIVER_ERROR, text: "message not known yet, deliver again later" },
};

export type Cimd2Receipt = PartReceipt & { report: StatusReport };

export interface Cimd2MoOut {
  payload: MO;
  cimd2: { parts: number };
  partial?: { total: number; missing: number[]; reason: string };
}

export interface Cimd2ReceiverOptions {
  /** How long a report of an unknown key is looked up, from its first delivery. */
  unmatchedWaitMs: number;
  /** A long MO given up on after this long goes on with the parts that came. */
  reassemblyTimeoutMs: number;
  now?: () => number;
}

/** What the node does with what arrives; `mo` and `status` emit and resolve with how the hand-over ended. */
export interface Cimd2ReceiverEvents {
  mo(msg: Cimd2MoOut): Promise<HandOver>;
  status(status: Status, report: StatusReport): Promise<HandOver>;
  unmatched(report: StatusReport): void;
  warn(text: string): void;
}

/** `061` 4 delivered; 2, 3, 6-9 failed (with `062`); 0, 1, 5 not final, so "sent". */
export function receiptOf(report: StatusReport): Cimd2Receipt {
  const state = report.outcome === "pending" ? "sent" : report.outcome;
  const receipt: Cimd2Receipt = { messageId: report.key, keys: [report.key], state, report };
  if (report.reason !== undefined) receipt.reason = report.reason;
  return receipt;
}

export class Cimd2Receiver {
  private readonly desk: ReceiptDesk<Cimd2Receipt>;
  private readonly mos: MoDesk;

  constructor(store: () => Promise<ReceiptStore>, parts: KeptParts, private readonly options: Cimd2ReceiverOptions, private readonly events: Cimd2ReceiverEvents) {
    this.desk = new ReceiptDesk<Cimd2Receipt>(
      store,
      { waitMs: options.unmatchedWaitMs, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: options.unmatchedWaitMs },
      { handOver: (status, r) => events.status(status, r.report), unmatched: (r) => events.unmatched(r.report) },
    );
    this.mos = new MoDesk(parts, options.reassemblyTimeoutMs, {
      mo: ({ mo, parts: count, partial }) => events.mo({ payload: mo, cimd2: { parts: count }, ...(partial ? { partial } : {}) }),
      warn: events.warn,
    });
  }

  /** One op 20 or op 23 of the session: resolves with the response to send (give it to `delivery.respond`). */
  async deliver(delivery: Delivery): Promise<DeliveryAnswer> {
    switch (delivery.kind) {
      case "report": {
        const handling = await this.desk.handle(receiptOf(delivery.report));
        if (handling.kind === "store-error") this.events.warn(`status report for ${delivery.report.key} answered error ${REDELIVER_ERROR}: ${handling.reason}`);
        return CIMD2_ANSWERS[handling.answer];
      }
      case "mo":
        return this.deliverMo(delivery.message);
      case "invalid":
        this.events.warn(`${delivery.packet.op === 20 ? "deliver message" : "status report"} refused with error ${delivery.errorCode}: ${delivery.reason}`);
        return { ok: false, code: delivery.errorCode, text: delivery.reason };
    }
  }

  /** Stops taking work: waiting reports are answered error 710; kept MO parts as lib/delivery/mo-desk.ts says. */
  async close(removed: boolean): Promise<void> {
    this.desk.close();
    await this.mos.close(removed);
  }

  private async deliverMo(part: DeliveredMessage): Promise<DeliveryAnswer> {
    if (!part.alphabet || part.text === undefined) {
      const reason = `MO from ${part.from} is not text: ${part.notText ?? "no alphabet"}`;
      this.events.warn(reason);
      return { ok: false, code: NOT_TEXT_ERROR, text: reason };
    }
    const date = new Date((this.options.now ?? Date.now)()).toISOString();
    const outcome = await this.mos.deliver({ ...part, alphabet: part.alphabet, text: part.text }, date);
    if ("answer" in outcome) return CIMD2_ANSWERS[outcome.answer];
    this.events.warn(`MO part from ${part.from} refused with error 712: ${outcome.invalid}`);
    return { ok: false, code: 712, text: outcome.invalid };
  }
}
