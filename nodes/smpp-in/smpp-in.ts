/**
 * smpp-in: deliver_sm from the SMSC of its smpp-bind, on three outputs:
 *   1. MO (`msg.payload` = { from, to, text, date }), long ones reassembled;
 *   2. delivery statuses for RapidPro (`{ id, status, smscId, reason }`, via the store);
 *   3. receipts whose message id is not in the store.
 * Each deliver_sm is answered only once the msg was acknowledged (`msg.ack`, settled by
 * rapidpro-out when RapidPro accepted it): ESME_RX_T_APPN (0x64) if it failed for now, so
 * the SMSC delivers it again, or ESME_RX_P_APPN (0x65) if RapidPro refused it for good.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Status } from "../../lib/contract";
import type { AckOutcome } from "../../lib/pending";
import { ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN } from "../../lib/smpp/command-status";
import { readDeliverSm } from "../../lib/smpp/deliver";
import { receiptIdKeys, type Receipt } from "../../lib/smpp/receipt";
import { Reassembler, type PartialMessage } from "../../lib/sms/reassembly";
import { OneAtATime } from "../../lib/one-at-a-time";
import { applyPartState } from "../../lib/store/aggregate";
import { pendingAcks } from "../shared/pending";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";
import type * as smpp from "smpp";

interface SmppInDef extends NodeDef {
  bind: string;
  /** "rapidpro": answer when msg.ack is settled; "receipt": answer at once. */
  ackMode: "rapidpro" | "receipt";
  ackTimeout: string | number;
  reassemblyTimeout: string | number;
  /** Seconds to keep looking up a receipt whose message id is not (yet) in the store. */
  unmatchedWait: string | number;
}

const DEFAULT_ACK_TIMEOUT_S = 25;
const DEFAULT_REASSEMBLY_S = 300;
/**
 * A receipt can overtake the store write of its submit (Jasmin: "A DLR that arrives before
 * its id mapping is looked up again after 10 s, up to 2 times"); ours is looked up for 20 s by
 * default (two more lookups spread over `unmatchedWait`), as long as Jasmin's. The
 * deliver_sm_resp waits meanwhile; an SMSC that gives up sooner sends the receipt again,
 * which is the same retry.
 */
const UNMATCHED_RETRIES = 2;
const DEFAULT_UNMATCHED_WAIT_S = 20;
/** Unmatched receipt ids remembered at most (see `unmatchedIds`). */
const UNMATCHED_REMEMBERED = 10_000;

type Output = 0 | 1 | 2;

export default function (RED: NodeAPI) {
  function SmppIn(this: Node, config: SmppInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as SmppBindNode | null;
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._("smpp-in.status.no-bind") });
      node.error(RED._("smpp-in.errors.no-bind"));
      return;
    }
    const owner: SmppBindNode = bind;
    const ackTimeoutMs = (Number(config.ackTimeout) > 0 ? Number(config.ackTimeout) : DEFAULT_ACK_TIMEOUT_S) * 1000;
    const waitForRapidpro = config.ackMode !== "receipt";
    const unmatchedWait = Number(config.unmatchedWait);
    const retryMs = ((Number.isFinite(unmatchedWait) && unmatchedWait >= 0 ? unmatchedWait : DEFAULT_UNMATCHED_WAIT_S) * 1000) / UNMATCHED_RETRIES;
    const timers = new Set<NodeJS.Timeout>();
    let closing = false;

    const reassembler = new Reassembler<smpp.PDU>({
      timeoutMs: (Number(config.reassemblyTimeout) > 0 ? Number(config.reassemblyTimeout) : DEFAULT_REASSEMBLY_S) * 1000,
      onFlush: (partial) => emitPartial(partial),
    });
    const sweeper = setInterval(() => reassembler.sweep(), 10_000);

    const emit = (output: Output, msg: NodeMessage) => {
      const out: Array<NodeMessage | null> = [null, null, null];
      out[output] = msg;
      node.send(out);
    };

    /** Sends the msg and resolves with the deliver_sm_resp status its acknowledgement gives. */
    function forward(output: Output, msg: NodeMessage & { ack?: string }): Promise<number> {
      if (!waitForRapidpro || closing) {
        emit(output, msg);
        return Promise.resolve(ESME_ROK);
      }
      return new Promise<number>((resolve) => {
        msg.ack = pendingAcks.hold(
          node.id,
          (outcome: AckOutcome) => resolve(outcome.ok ? ESME_ROK : outcome.temporary === false ? ESME_RX_P_APPN : ESME_RX_T_APPN),
          ackTimeoutMs,
          () => ({ ok: false, temporary: true, reason: "not acknowledged in time" }),
        );
        emit(output, msg);
      });
    }

    function emitPartial(partial: PartialMessage<smpp.PDU>): void {
      node.warn(`long MO from ${partial.from} flushed (${partial.reason}) with parts ${partial.missing.join(", ")} of ${partial.total} missing`);
      emit(0, {
        payload: { from: partial.from, to: partial.to, text: partial.text, date: new Date(partial.firstAt).toISOString() },
        partial: { total: partial.total, missing: partial.missing, reason: partial.reason },
      } as NodeMessage);
    }

    /**
     * A receipt becomes at most one status per step of its message, and a status is recorded
     * as reported only once RapidPro (or the durable outbox) has it: the report is worked out
     * on a copy, handed on, and written to the store after the acknowledgement. So a status
     * whose hand-over failed (or was cut by a crash) is reported again when the SMSC delivers
     * the receipt again, and a repeated receipt after a successful hand-over reports nothing.
     * Receipts of one message are taken one at a time, so two parts cannot both report.
     */
    async function onReceipt(receipt: Receipt): Promise<number> {
      const store = await owner.store();
      const keys = receiptIdKeys(receipt.messageId, owner.idMode);
      let unmatched: { since: number; emitted: boolean } | undefined;
      for (let attempt = 0; attempt <= UNMATCHED_RETRIES && !closing; attempt += 1) {
        // The wait counts from the first delivery of this receipt, not from this one.
        if (unmatched) await delay(Math.min(retryMs, Math.max(0, unmatched.since + unmatchedWaitMs - Date.now())));
        for (const key of keys) {
          const found = await store.findByPart(key);
          if (!found) continue;
          if (unmatched) unmatchedIds.delete(receipt.messageId);
          return receiptsOfOneMessage.run(found.rapidproId, async (waited) => {
            // Another receipt of this message may have changed the record while this one waited.
            const record = waited ? ((await store.findByPart(key)) ?? found) : found;
            const preview = applyPartState(structuredClone(record), record.parts.indexOf(key), receipt.status, receipt.reason);
            if (!preview.report) {
              await store.markPart(key, receipt.status, receipt.reason);
              return ESME_ROK;
            }
            // The message's id at the SMSC (its first part's), the same for every status of this
            // submission: rapidpro-out drops a status it already queued by it (statusOnceId).
            const status: Status = { id: record.rapidproId, status: preview.report.status, smscId: record.parts[0] };
            if (preview.report.reason) status.reason = preview.report.reason;
            const answer = await forward(1, { payload: status, receipt } as NodeMessage);
            if (answer === ESME_ROK) await store.markPart(key, receipt.status, receipt.reason);
            return answer;
          });
        }
        unmatched ??= unmatchedSeen(receipt.messageId);
        if (Date.now() - unmatched.since >= unmatchedWaitMs) break;
      }
      unmatched ??= unmatchedSeen(receipt.messageId);
      // Handed on once, however often the SMSC delivers it again.
      if (!unmatched.emitted) emit(2, { payload: receipt, topic: "unmatched" } as NodeMessage);
      unmatched.emitted = true;
      return ESME_ROK;
    }

    /**
     * Receipt ids not (yet) found in the store: since when, and whether output 3 had them. An
     * SMSC whose deliver_sm_resp timeout is shorter than `unmatchedWait` delivers the receipt
     * again while we wait; were each delivery to wait afresh, a receipt that never gets a
     * record (its submit_sm_resp was lost with the connection) would never be answered, and
     * a store-and-forward SMSC would deliver it forever.
     */
    const unmatchedIds = new Map<string, { since: number; emitted: boolean }>();
    const unmatchedWaitMs = retryMs * UNMATCHED_RETRIES;
    function unmatchedSeen(messageId: string): { since: number; emitted: boolean } {
      let entry = unmatchedIds.get(messageId);
      if (!entry) {
        entry = { since: Date.now(), emitted: false };
        unmatchedIds.set(messageId, entry);
        // Bounded: the oldest ids are forgotten first (Map keeps insertion order).
        if (unmatchedIds.size > UNMATCHED_REMEMBERED) unmatchedIds.delete(unmatchedIds.keys().next().value as string);
      }
      return entry;
    }

    const receiptsOfOneMessage = new OneAtATime();

    function delay(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      });
    }

    async function onDeliver(pdu: smpp.PDU): Promise<number> {
      const content = readDeliverSm(pdu, { reassembler, context: pdu });
      switch (content.kind) {
        case "receipt":
          return onReceipt(content.receipt);
        case "mo": {
          const status = await forward(0, { payload: content.mo, smpp: { parts: content.parts } } as NodeMessage);
          // Only the completing part is answered with the error, so only it will come again:
          // put the parts already acknowledged back, so that the redelivery completes it anew.
          if (status !== ESME_ROK && content.parts > 1 && !closing) {
            for (const earlier of content.contexts) if (earlier !== pdu) readDeliverSm(earlier, { reassembler, context: earlier });
          }
          return status;
        }
        case "pending":
        case "duplicate":
          // Parts are acknowledged when held: an SMSC that sends one deliver_sm at a time
          // would never send the last part otherwise. Held parts live in memory only.
          return ESME_ROK;
        case "invalid":
          node.warn(`deliver_sm refused: ${content.reason}`);
          return content.commandStatus ?? ESME_RX_P_APPN;
      }
    }

    const leave = bind.register(node, (status) => node.status(status));
    if (!bind.setReceiver(node, (pdu) => onDeliver(pdu))) {
      node.error(RED._("smpp-in.errors.receiver-taken"));
      node.status({ fill: "red", shape: "ring", text: RED._("smpp-in.status.receiver-taken") });
    }

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      clearInterval(sweeper);
      for (const t of timers) clearTimeout(t);
      bind.clearReceiver(node);
      leave();
      // Anything still waiting for RapidPro is answered "try again later".
      pendingAcks.releaseOwner(node.id, () => ({ ok: false, temporary: true, reason: "node closed" }));
      reassembler.flushAll();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("smpp-in", SmppIn);
}
