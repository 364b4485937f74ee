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
import type { MO, Status } from "../../lib/contract";
import type { AckOutcome } from "../../lib/pending";
import { ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN } from "../../lib/smpp/command-status";
import { readDeliverSm } from "../../lib/smpp/deliver";
import { receiptIdKeys, type Receipt } from "../../lib/smpp/receipt";
import { HeldParts, type PartHandle, type StoredPart } from "../../lib/sms/held-parts";
import type { PartialMessage, Reassembled } from "../../lib/sms/reassembly";
import type { PartWatch } from "../../lib/store/part-watch";
import type { DurableQueue } from "../../lib/store/queue";
import { MemoryQueue } from "../../lib/store/queue-memory";
import { resolveEnvReference } from "../shared/env";
import { openNodeQueue, openSharedPartGroups } from "../shared/store";
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
 * default (two more lookups spread over `unmatchedWait`), as long as Jasmin's, and at once
 * when this process's store write of one of its ids ends (lib/store/part-watch.ts). The
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
    let closing = false;

    // Parts of long MOs waiting for their siblings are kept on disk before they are
    // acknowledged (lib/sms/held-parts.ts), so a restart does not lose them.
    const reassemblyTimeoutMs = (Number(config.reassemblyTimeout) > 0 ? Number(config.reassemblyTimeout) : DEFAULT_REASSEMBLY_S) * 1000;
    const partsUrl = heldPartsUrl(bind);
    let durableParts = partsUrl === undefined;
    let partsQueue: DurableQueue<StoredPart> | undefined;
    let held: HeldParts | undefined;
    const releasing = new Set<Promise<void>>();
    // With a Redis store the parts are kept there, where every instance can complete the message (decision 21).
    const sharedParts = openSharedPartGroups(bind.storeUrl, bind.id, (err) => node.error(`long MO parts: ${err.message}`));
    const heldReady: Promise<HeldParts> = openNodeQueue<StoredPart>(RED, partsUrl, heldPartsQueueName(bind.id), (err) => node.error(`long MO parts: ${err.message}`))
      .catch((err: Error) => {
        node.error(`cannot open the store of long MO parts (${err.message}): they are held in memory only`);
        durableParts = false;
        return new MemoryQueue<StoredPart>();
      })
      .then(async (queue) => {
        partsQueue = queue;
        const parts = new HeldParts(queue, { timeoutMs: reassemblyTimeoutMs, onFlush: (partial) => handPartialOn(partial) }, sharedParts);
        held = parts;
        const restored = await parts.restore().catch((err: Error) => {
          node.error(`long MO parts kept before the restart could not be read: ${err.message}`);
          return { parts: 0, complete: [], dropped: [] };
        });
        for (const reason of restored.dropped) node.warn(`long MO part let go: ${reason}`);
        for (const message of restored.complete) {
          void handOn({ from: message.from, to: message.to, text: message.text, date: new Date(message.firstAt).toISOString() }, message.parts, message.contexts);
        }
        return parts;
      });
    const sweeper = setInterval(() => held?.reassembler.sweep(), 10_000);

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

    /**
     * Hands a reassembled MO on, and lets its kept parts go once RapidPro (or the outbox) has
     * it; if not, puts them back to wait for the SMSC's redelivery of the part answered with
     * the error. Resolves with that answer.
     */
    async function handOn(mo: MO, parts: number, handles: PartHandle[], partial?: PartialMessage<PartHandle>): Promise<number> {
      const msg = { payload: mo, smpp: { parts } } as NodeMessage & { partial?: object };
      if (partial) msg.partial = { total: partial.total, missing: partial.missing, reason: partial.reason };
      const status = await forward(0, msg);
      if (status === ESME_ROK) {
        const release = (held?.release(handles) ?? Promise.resolve())
          .catch((err: Error) => node.warn(`long MO from ${mo.from} handed on, but its kept parts could not be let go: ${err.message}`))
          .finally(() => releasing.delete(release));
        releasing.add(release);
        await release;
      } else if (!closing) {
        held?.putBack(handles);
      }
      return status;
    }

    /** A long MO given up on (timeout, room, close) goes on with the parts that came; tried again at the next sweep if not taken. */
    function handPartialOn(partial: PartialMessage<PartHandle>): void {
      node.warn(`long MO from ${partial.from} flushed (${partial.reason}) with parts ${partial.missing.join(", ")} of ${partial.total} missing`);
      const mo: MO = { from: partial.from, to: partial.to, text: partial.text, date: new Date(partial.firstAt).toISOString() };
      void handOn(mo, partial.parts, partial.contexts, partial);
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
      let watch: PartWatch | undefined;
      try {
        for (let attempt = 0; attempt <= UNMATCHED_RETRIES && !closing; attempt += 1) {
          // The wait counts from the first delivery of this receipt, not from this one; a
          // correlation write of one of its ids ends it early.
          if (watch && unmatched) await watch.ended(Math.min(retryMs, Math.max(0, unmatched.since + unmatchedWaitMs - Date.now())));
          if (closing) break;
          // Taken before the lookup, so a write that commits while the lookup runs still counts.
          if (watch) forgetWatch(watch);
          watch = watchUntilClose(store.watchParts(keys));
          for (const key of keys) {
            const found = await store.findByPart(key);
            if (!found) continue;
            if (unmatched) unmatchedIds.delete(receipt.messageId);
            // One at a time per message here, and across instances sharing a Redis store (store.exclusive).
            return await receiptsOfOneMessage.run(found.rapidproId, (waitedHere) => store.exclusive(found.rapidproId, async (waitedElsewhere) => {
              // Another receipt of this message may have changed the record while this one waited.
              const record = waitedHere || waitedElsewhere ? ((await store.findByPart(key)) ?? found) : found;
              // A copy of what applyPartState changes (states, reason, reported): the store is written after the hand-over.
              const preview = applyPartState({ ...record, states: [...record.states] }, record.parts.indexOf(key), receipt.status, receipt.reason);
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
            }));
          }
          unmatched ??= unmatchedSeen(receipt.messageId);
          if (Date.now() - unmatched.since >= unmatchedWaitMs) break;
        }
      } finally {
        if (watch) forgetWatch(watch);
      }
      // Closing while it waited: the SMSC delivers it again to whoever binds next.
      if (closing) return ESME_RX_T_APPN;
      unmatched ??= unmatchedSeen(receipt.messageId);
      // Handed on once, however often the SMSC delivers it again.
      if (!unmatched.emitted) emit(2, { payload: receipt, topic: "unmatched" } as NodeMessage);
      unmatched.emitted = true;
      return ESME_ROK;
    }

    /** Watches of receipts waiting for their correlation; cancelled when the node closes. */
    const watches = new Set<PartWatch>();
    function watchUntilClose(watch: PartWatch): PartWatch {
      watches.add(watch);
      return watch;
    }
    function forgetWatch(watch: PartWatch): void {
      watch.cancel();
      watches.delete(watch);
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

    async function onDeliver(pdu: smpp.PDU): Promise<number> {
      const parts = held ?? (await heldReady);
      const handle: PartHandle = {};
      const content = readDeliverSm(pdu, { reassembler: parts.reassembler, context: handle });
      switch (content.kind) {
        case "receipt":
          return onReceipt(content.receipt);
        case "mo":
          // Only the completing part is answered with an error, so only it will come again.
          return handOn(content.mo, content.parts, content.contexts);
        case "pending": {
          // Parts are acknowledged when held (an SMSC that sends one deliver_sm at a time
          // would never send the last part otherwise), so they are kept on disk first.
          let completed: Reassembled<PartHandle> | undefined;
          try {
            completed = await parts.keep(handle);
          } catch (err) {
            node.warn(`a part of a long MO from ${handle.fragment?.from ?? "?"} could not be kept, the SMSC will deliver it again: ${(err as Error).message}`);
            return ESME_RX_T_APPN;
          }
          // A shared store's parts complete here when the others came to other instances.
          if (!completed) return ESME_ROK;
          return handOn({ from: completed.from, to: completed.to, text: completed.text, date: new Date(completed.firstAt).toISOString() }, completed.parts, completed.contexts);
        }
        case "duplicate":
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

    node.on("close", (removed: boolean, done: () => void) => {
      closing = true;
      clearInterval(sweeper);
      for (const watch of watches) watch.cancel();
      bind.clearReceiver(node);
      leave();
      // Anything still waiting for RapidPro is answered "try again later".
      pendingAcks.releaseOwner(node.id, () => ({ ok: false, temporary: true, reason: "node closed" }));
      const finish = async () => {
        const parts = await heldReady;
        // Kept parts wait on disk for the next start; in memory, or when this node is gone
        // for good, they go on now as partial MOs.
        if (removed || !durableParts) parts.reassembler.flushAll();
        while (releasing.size > 0) await Promise.allSettled([...releasing]);
        await partsQueue?.close();
        await sharedParts?.close();
      };
      finish()
        .catch((err: Error) => node.error(`closing: ${err.message}`))
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType("smpp-in", SmppIn);
}

/**
 * Where the parts of long MOs are kept: on this machine (the embedded queue in the user
 * directory), since they belong to this instance's session even when the bind's store is a
 * Redis shared by several; in memory when the bind's store is (`memory:`, tests).
 */
function heldPartsUrl(bind: SmppBindNode): string | undefined {
  return resolveEnvReference(bind.storeUrl).trim().startsWith("memory:") ? "memory:" : undefined;
}

/** One queue per bind; a queue name allows letters, digits, '-' and '_' only. */
function heldPartsQueueName(bindId: string): string {
  return `mo-parts-${bindId.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64);
}
