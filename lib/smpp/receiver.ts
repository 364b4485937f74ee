/**
 * The receiving side of an SMPP bind, independent of Node-RED: each deliver_sm becomes an MO
 * (long ones reassembled, their parts kept on disk meanwhile, or in Redis where several instances
 * share the bind's store: lib/sms/held-parts.ts), a status
 * (lib/delivery/receipts.ts) or an unmatched receipt, and is answered with the command_status
 * SMPP_ANSWERS gives for how its hand-over ended. smpp-in is thin glue over this class.
 */
import type { MO, Status } from "../contract";
import { HAND_OVER_ANSWER, type AnswerTable, type HandOver } from "../delivery/answers";
import { ReceiptDesk, type PartReceipt, type ReceiptHandling, type ReceiptStore } from "../delivery/receipts";
import { HeldParts, type PartHandle, type SharedPartGroups, type StoredPart } from "../sms/held-parts";
import type { PartialMessage, Reassembled } from "../sms/reassembly";
import type { DurableQueue } from "../store/queue";
import { ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN } from "./command-status";
import { readDeliverSm, type DeliverSmFields } from "./deliver";
import { receiptIdKeys, type MessageIdMode, type Receipt } from "./receipt";
import { logLine } from "../text/peer-value";

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

/**
 * A receipt can overtake the store write of its submit (Jasmin: "A DLR that arrives before
 * its id mapping is looked up again after 10 s, up to 2 times"); ours waits for the write
 * (lib/store/part-watch.ts) and looks up twice more, spread over the wait. The deliver_sm_resp
 * waits meanwhile; an SMSC that gives up sooner sends the receipt again, which is the same retry.
 */
export const UNMATCHED_LOOKUPS = 2;

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
  /** Every receipt once handled, however it ended (metrics and the trace, nodes/shared/observe.ts). */
  receipt?(receipt: Receipt, handling: ReceiptHandling, arrivedAt: number): void;
}

export class SmppReceiver {
  private readonly desk: ReceiptDesk<SmppReceipt>;
  private readonly ready: Promise<HeldParts>;
  private held: HeldParts | undefined;
  private readonly releasing = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;
  private durable = false;
  private queue: DurableQueue<StoredPart> | undefined;
  private readonly events: SmppReceiverEvents;

  /**
   * `parts`: where kept MO parts live, and whether that survives a restart. `sharedParts`: set
   * when the bind's store is shared by several instances (Redis, docs/design.md decision 36),
   * whose binds may each get some parts of one long MO; the parts are kept there instead, and
   * the instance that gets the last one hands the message over. The caller opens and closes it.
   */
  constructor(
    store: () => Promise<ReceiptStore>,
    parts: Promise<{ queue: DurableQueue<StoredPart>; durable: boolean }>,
    private readonly options: SmppReceiverOptions,
    events: SmppReceiverEvents,
    sharedParts?: SharedPartGroups,
  ) {
    // Warnings carry what the SMSC sent (addresses, receipt ids, reasons): escaped once, here.
    this.events = {
      mo: (msg) => events.mo(msg),
      status: (status, receipt) => events.status(status, receipt),
      unmatched: (receipt) => events.unmatched(receipt),
      warn: (text) => events.warn(logLine(text)),
      receipt: (receipt, handling, arrivedAt) => events.receipt?.(receipt, handling, arrivedAt),
    };
    this.desk = new ReceiptDesk<SmppReceipt>(
      store,
      { waitMs: options.unmatchedWaitMs, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: options.unmatchedWaitMs },
      { handOver: (status, r) => events.status(status, r.receipt), unmatched: (r) => events.unmatched(r.receipt) },
    );
    this.ready = parts.then(async ({ queue, durable }) => {
      this.durable = durable;
      this.queue = queue;
      const held = new HeldParts(queue, { timeoutMs: options.reassemblyTimeoutMs, onFlush: (partial) => this.handPartialOn(partial) }, sharedParts);
      this.held = held;
      const restored = await held.restore().catch((err: Error) => {
        this.events.warn(`long MO parts kept before the restart could not be read: ${err.message}`);
        return { parts: 0, complete: [], dropped: [] };
      });
      for (const reason of restored.dropped) this.events.warn(`long MO part let go: ${reason}`);
      for (const message of restored.complete) void this.handOnComplete(message);
      return held;
    });
    this.sweeper = setInterval(() => this.held?.reassembler.sweep(), 10_000);
    this.sweeper.unref();
  }

  /** One deliver_sm: resolves with its deliver_sm_resp command_status. */
  async deliver(pdu: DeliverSmFields): Promise<number> {
    const parts = this.held ?? (await this.ready);
    const handle: PartHandle = {};
    const content = readDeliverSm(pdu, { reassembler: parts.reassembler, context: handle });
    switch (content.kind) {
      case "receipt": {
        const { receipt } = content;
const arrivedAt = Date.now();
                const handling = await this.desk.handle({ messageId: receipt.messageId, keys: receiptIdKeys(receipt.messageId, this.options.idMode), state: receipt.status, reason: receipt.reason, receipt });
        this.events.receipt?.(receipt, handling, arrivedAt);
        if (handling.kind === "store-error") this.events.warn(`receipt for ${receipt.messageId} answered "try again": ${handling.reason}`);
        return SMPP_ANSWERS[handling.answer];
      }
      case "mo":
        // Only the completing part is answered with an error, so only it will come again.
        return this.handOn(content.mo, content.parts, content.contexts);
      case "pending": {
        // Parts are acknowledged when held (an SMSC that sends one deliver_sm at a time would
        // never send the last part otherwise), so they are kept on disk first.
        let completed: Reassembled<PartHandle> | undefined;
        try {
          completed = await parts.keep(handle);
        } catch (err) {
          this.events.warn(`a part of a long MO from ${handle.fragment?.from ?? "?"} could not be kept, the SMSC will deliver it again: ${(err as Error).message}`);
          return SMPP_ANSWERS.again;
        }
        // With shared parts, this one completes a message whose other parts came to other instances.
        return completed ? this.handOnComplete(completed) : SMPP_ANSWERS.taken;
      }
      case "duplicate":
        return SMPP_ANSWERS.taken;
      case "invalid":
        this.events.warn(`deliver_sm refused: ${content.reason}`);
        return content.commandStatus ?? SMPP_ANSWERS.refused;
    }
  }

  /**
   * Stops taking work: waiting receipts are answered "try again" (the SMSC delivers them to
   * whoever binds next). Kept MO parts wait on disk for the next start; in memory, or when the
   * node is gone for good (`removed`), they go on now as partial MOs. Shared parts stay in
   * Redis for the other instances (lib/sms/held-parts.ts).
   */
  async close(removed: boolean): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    this.desk.close();
    const parts = await this.ready;
    if (removed || !this.durable) parts.reassembler.flushAll();
    while (this.releasing.size > 0) await Promise.allSettled([...this.releasing]);
    await this.queue?.close();
  }

  /**
   * Hands a reassembled MO on, and lets its kept parts go once RapidPro (or the outbox) has
   * it; if not, puts them back to wait for the SMSC's redelivery of the part answered with
   * the error. Resolves with that answer.
   */
  private async handOn(mo: MO, count: number, handles: PartHandle[], partial?: PartialMessage<PartHandle>): Promise<number> {
    const msg: MoOut = { payload: mo, smpp: { parts: count } };
    if (partial) msg.partial = { total: partial.total, missing: partial.missing, reason: partial.reason };
    const answer = HAND_OVER_ANSWER[(await this.events.mo(msg)).kind];
    if (answer === "taken") {
      const release = (this.held?.release(handles) ?? Promise.resolve())
        .catch((err: Error) => this.events.warn(`long MO from ${mo.from} handed on, but its kept parts could not be let go: ${err.message}`))
        .finally(() => this.releasing.delete(release));
      this.releasing.add(release);
      await release;
    } else if (!this.closing) {
      this.held?.putBack(handles);
    }
    return SMPP_ANSWERS[answer];
  }

  /** A message whose parts all came (restored, or completed in a shared store). */
  private handOnComplete(message: Reassembled<PartHandle>): Promise<number> {
    return this.handOn({ from: message.from, to: message.to, text: message.text, date: new Date(message.firstAt).toISOString() }, message.parts, message.contexts);
  }

  /** A long MO given up on (timeout, room, close) goes on with the parts that came; tried again at the next sweep if not taken. */
  private handPartialOn(partial: PartialMessage<PartHandle>): void {
    this.events.warn(`long MO from ${partial.from} flushed (${partial.reason}) with parts ${partial.missing.join(", ")} of ${partial.total} missing`);
    const mo: MO = { from: partial.from, to: partial.to, text: partial.text, date: new Date(partial.firstAt).toISOString() };
    void this.handOn(mo, partial.parts, partial.contexts, partial);
  }
}
