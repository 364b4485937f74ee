/**
 * The receiving side of an SMPP bind, independent of Node-RED: each deliver_sm becomes an MO
 * (long ones reassembled, their parts kept on disk meanwhile: lib/delivery/mo-desk.ts), a status
 * (lib/delivery/receipts.ts) or an unmatched receipt, and is answered with the command_status
 * SMPP_ANSWERS gives for how its hand-over ended. smpp-in is thin glue over this class.
 */
import type { MO, Status } from "../contract";
import type { AnswerTable, HandOver } from "../delivery/answers";
import { ReceiptDesk, UNMATCHED_LOOKUPS, type PartReceipt, type ReceiptStore } from "../delivery/receipts";
import { MoDesk, type KeptParts } from "../delivery/mo-desk";
import type { PartHandle } from "../sms/held-parts";
import { ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN } from "./command-status";
import { readDeliverSm, type DeliverSmFields } from "./deliver";
import { receiptIdKeys, type MessageIdMode, type Receipt } from "./receipt";

/**
 * deliver_sm_resp command_status for each abstract answer: ESME_RX_T_APPN (0x64) "ESME
 * Receiver Temporary App Error Code" makes the SMSC deliver it again, ESME_RX_P_APPN (0x65)
 * "ESME Receiver Permanent App Error Code" makes it give up.
 */
export const SMPP_ANSWERS: AnswerTable<number> = {
  taken: ESME_ROK,
  again: ESME_RX_T_APPN,
  refused: ESME_RX_P_APPN,
  "not-yet": ESME_RX_T_APPN,
};

export type SmppReceipt = PartReceipt & { receipt: Receipt };

export interface MoOut {
  payload: MO;
  smpp: { parts: number };
  partial?: { total: number; missing: number[]; reason: string };
}

export interface SmppReceiverOptions {
  idMode: MessageIdMode;
  /** How long a receipt of an unknown id is looked up, from its first delivery. */
  unmatchedWaitMs: number;
  /** A long MO given up on after this long goes on with the parts that came. */
  reassemblyTimeoutMs: number;
}

/** What the node does with what arrives; `mo` and `status` emit and resolve with how the hand-over ended (lib/delivery/hand-over.ts). */
export interface SmppReceiverEvents {
  mo(msg: MoOut): Promise<HandOver>;
  status(status: Status, receipt: Receipt): Promise<HandOver>;
  unmatched(receipt: Receipt): void;
  warn(text: string): void;
}

export class SmppReceiver {
  private readonly desk: ReceiptDesk<SmppReceipt>;
  private readonly mos: MoDesk;

  /** `parts`: where kept MO parts live, and whether that survives a restart. */
  constructor(
    store: () => Promise<ReceiptStore>,
    parts: KeptParts,
    private readonly options: SmppReceiverOptions,
    private readonly events: SmppReceiverEvents,
  ) {
    this.desk = new ReceiptDesk<SmppReceipt>(
      store,
      { waitMs: options.unmatchedWaitMs, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: options.unmatchedWaitMs },
      { handOver: (status, r) => events.status(status, r.receipt), unmatched: (r) => events.unmatched(r.receipt) },
    );
    this.mos = new MoDesk(parts, options.reassemblyTimeoutMs, {
      mo: ({ mo, parts: count, partial }) => events.mo({ payload: mo, smpp: { parts: count }, ...(partial ? { partial } : {}) }),
      warn: events.warn,
    });
  }

  /** One deliver_sm: resolves with its deliver_sm_resp command_status. */
  async deliver(pdu: DeliverSmFields): Promise<number> {
    const handle: PartHandle = {};
    const content = readDeliverSm(pdu, { reassembler: await this.mos.reassembler(), context: handle });
    switch (content.kind) {
      case "receipt": {
        const { receipt } = content;
        const handling = await this.desk.handle({ messageId: receipt.messageId, keys: receiptIdKeys(receipt.messageId, this.options.idMode), state: receipt.status, reason: receipt.reason, receipt });
        if (handling.kind === "store-error") this.events.warn(`receipt for ${receipt.messageId} answered "try again": ${handling.reason}`);
        return SMPP_ANSWERS[handling.answer];
      }
      case "mo":
        return SMPP_ANSWERS[await this.mos.complete(content.mo, content.parts, content.contexts)];
      case "pending":
        return SMPP_ANSWERS[await this.mos.pending(handle)];
      case "duplicate":
        return SMPP_ANSWERS.taken;
      case "invalid":
        this.events.warn(`deliver_sm refused: ${content.reason}`);
        return content.commandStatus ?? SMPP_ANSWERS.refused;
    }
  }

  /**
   * Stops taking work: waiting receipts are answered "try again" (the SMSC delivers them to
   * whoever binds next); kept MO parts as lib/delivery/mo-desk.ts says.
   */
  async close(removed: boolean): Promise<void> {
    this.desk.close();
    await this.mos.close(removed);
  }
}
