/**
 * The receiving side of a UCP/EMI bind, independent of Node-RED: each OT 52 (or OT 01) becomes
 * an MO (long ones reassembled in any order, their parts kept on disk meanwhile:
 * lib/delivery/mo-desk.ts), each OT 53 a status (lib/delivery/receipts.ts) or an unmatched
 * notification, and is answered with the result UCP_ANSWERS gives for how its hand-over
 * ended. ucp-in is thin glue over this class, as smpp-in is over lib/smpp/receiver.ts.
 */
import type { MO, Status } from "../contract";
import type { AnswerTable, HandOver } from "../delivery/answers";
import { MoDesk, type KeptParts } from "../delivery/mo-desk";
import { ReceiptDesk, UNMATCHED_LOOKUPS, type PartReceipt, type ReceiptStore } from "../delivery/receipts";
import type { MoPart, Notification } from "./deliver";
import { REDELIVER_ERROR_CODE, SYNTAX_ERROR_CODE } from "./errors";
import type { DeliveryAnswer, UcpDelivery } from "./incoming";

/**
 * The result each abstract answer gets (docs/design.md decisions 22 and 23): `A` when taken;
 * `N/04/<reason>/` ("operation not allowed": not now) when it must come again, since UCP has no
 * "temporary" code; `N/02/<reason>/` when RapidPro refused it for good, the code already kept
 * for what no redelivery can fix.
 */
export const UCP_ANSWERS: AnswerTable<DeliveryAnswer> = {
  taken: { ok: true },
  again: { ok: false, code: REDELIVER_ERROR_CODE, text: "not handed over yet, deliver again later" },
  refused: { ok: false, code: SYNTAX_ERROR_CODE, text: "refused by RapidPro" },
  "not-yet": { ok: false, code: REDELIVER_ERROR_CODE, text: "message not known yet, deliver again later" },
};

export type UcpReceipt = PartReceipt & { notification: Notification };

export interface UcpMoOut {
  payload: MO;
  ucp: { parts: number };
  partial?: { total: number; missing: number[]; reason: string };
}

export interface UcpReceiverOptions {
  /** How long a notification of an unknown key is looked up, from its first delivery. */
  unmatchedWaitMs: number;
  /** A long MO given up on after this long goes on with the parts that came. */
  reassemblyTimeoutMs: number;
  now?: () => number;
}

/** What the node does with what arrives; `mo` and `status` emit and resolve with how the hand-over ended. */
export interface UcpReceiverEvents {
  mo(msg: UcpMoOut): Promise<HandOver>;
  status(status: Status, notification: Notification): Promise<HandOver>;
  unmatched(notification: Notification): void;
  warn(text: string): void;
}

/** A notification's state for the store: buffered (DST 1) is not final, so "sent". */
function receiptOf(notification: Notification): UcpReceipt {
  const receipt: UcpReceipt = { messageId: notification.key, keys: [notification.key], state: notification.contractStatus, notification };
  if (notification.reason !== undefined) receipt.reason = notification.reason;
  return receipt;
}

export class UcpReceiver {
  private readonly desk: ReceiptDesk<UcpReceipt>;
  private readonly mos: MoDesk;

  constructor(store: () => Promise<ReceiptStore>, parts: KeptParts, private readonly options: UcpReceiverOptions, private readonly events: UcpReceiverEvents) {
    this.desk = new ReceiptDesk<UcpReceipt>(
      store,
      { waitMs: options.unmatchedWaitMs, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: options.unmatchedWaitMs },
      { handOver: (status, r) => events.status(status, r.notification), unmatched: (r) => events.unmatched(r.notification) },
    );
    this.mos = new MoDesk(parts, options.reassemblyTimeoutMs, {
      mo: ({ mo, parts: count, partial }) => events.mo({ payload: mo, ucp: { parts: count }, ...(partial ? { partial } : {}) }),
      warn: events.warn,
    });
  }

  /** One MO or notification of the session: resolves with the result to send. */
  async deliver(delivery: UcpDelivery): Promise<DeliveryAnswer> {
    if (delivery.kind === "notification") {
      const handling = await this.desk.handle(receiptOf(delivery.notification));
      if (handling.kind === "store-error") this.events.warn(`notification for ${delivery.notification.key} answered "deliver again": ${handling.reason}`);
      return UCP_ANSWERS[handling.answer];
    }
    return this.deliverMo(delivery.mo);
  }

  /**
   * Stops taking work: waiting notifications are answered "deliver again"; kept MO parts as
   * lib/delivery/mo-desk.ts says.
   */
  async close(removed: boolean): Promise<void> {
    this.desk.close();
    await this.mos.close(removed);
  }

  private async deliverMo(part: MoPart): Promise<DeliveryAnswer> {
    if (!part.alphabet || part.text === undefined) {
      const reason = `MO from ${part.from} is not text: ${part.notText ?? "no alphabet"}`;
      this.events.warn(reason);
      return { ok: false, code: SYNTAX_ERROR_CODE, text: reason };
    }
    const date = part.date ?? new Date((this.options.now ?? Date.now)()).toISOString();
    const outcome = await this.mos.deliver({ ...part, alphabet: part.alphabet, text: part.text }, date);
    if ("answer" in outcome) return UCP_ANSWERS[outcome.answer];
    this.events.warn(`MO part from ${part.from} refused: ${outcome.invalid}`);
    return { ok: false, code: SYNTAX_ERROR_CODE, text: outcome.invalid };
  }
}
