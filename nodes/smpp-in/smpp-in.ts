/**
 * smpp-in: deliver_sm from the SMSC of its smpp-bind, on three outputs:
 *   1. MO (`msg.payload` = { from, to, text, date }), long ones reassembled;
 *   2. delivery statuses for RapidPro (`{ id, status, smscId, reason }`, via the store);
 *   3. receipts whose message id is not in the store.
 * Each deliver_sm is answered once its msg was acknowledged (`msg.ack`, settled by
 * rapidpro-out), with the command_status lib/smpp/receiver.ts's table gives. The rules live in
 * lib/smpp/receiver.ts and lib/delivery/.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { HandOver } from "../../lib/delivery/answers";
import { handOver, releaseHandOvers } from "../../lib/delivery/hand-over";
import { SmppReceiver } from "../../lib/smpp/receiver";
import type { StoredPart } from "../../lib/sms/held-parts";
import { MemoryQueue } from "../../lib/store/queue-memory";
import { resolveEnvReference } from "../shared/env";
import { pendingAcks } from "../shared/pending";
import { openNodeQueue, openSharedPartGroups } from "../shared/store";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";
import { observeMo, observeReceipts } from "../shared/observe";
import { logLine } from "../../lib/text/peer-value";

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
const DEFAULT_UNMATCHED_WAIT_S = 20;

/** A setting in seconds as ms: the fallback when unset or out of range (0 allowed where `zero`). */
const seconds = (value: string | number, fallback: number, zero = false) => {
  const n = Number(value);
  return (Number.isFinite(n) && (zero ? n >= 0 : n > 0) ? n : fallback) * 1000;
};

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
    let closing = false;

    /** Emits on one output and resolves with how the hand-over ended; after close nothing waits. */
    const emit = (output: 0 | 1 | 2, msg: NodeMessage & { ack?: string }): Promise<HandOver> =>
      handOver({ acks: pendingAcks, owner: node.id, timeoutMs: seconds(config.ackTimeout, DEFAULT_ACK_TIMEOUT_S), wait: config.ackMode !== "receipt" && !closing }, (ack) => {
        if (ack) msg.ack = ack;
        const out: Array<NodeMessage | null> = [null, null, null];
        out[output] = msg;
        node.send(out);
      });

    // Parts of long MOs are kept on this machine (lib/sms/held-parts.ts), in memory when the
    // bind's store is (`memory:`, tests); with a Redis store, in Redis, since the parts of one
    // message may come to several instances' binds (docs/design.md decision 36).
    const sharedParts = openSharedPartGroups(bind.storeUrl, bind.id, (err) => node.error(logLine(`long MO parts: ${err.message}`)));
    const inMemory = resolveEnvReference(bind.storeUrl).trim().startsWith("memory:");
    const parts = openNodeQueue<StoredPart>(RED, inMemory ? "memory:" : undefined, heldPartsQueueName(bind.id), (err) => node.error(logLine(`long MO parts: ${err.message}`))).then(
      (queue) => ({ queue, durable: !inMemory }),
      (err: Error) => {
        node.error(logLine(`cannot open the store of long MO parts (${err.message}): they are held in memory only`));
        return { queue: new MemoryQueue<StoredPart>(), durable: false };
      },
    );
    const receiver = new SmppReceiver(
      () => bind.store(),
      parts,
      { idMode: bind.idMode, unmatchedWaitMs: seconds(config.unmatchedWait, DEFAULT_UNMATCHED_WAIT_S, true), reassemblyTimeoutMs: seconds(config.reassemblyTimeout, DEFAULT_REASSEMBLY_S) },
      {
        mo: (msg) =>
          emit(0, { ...msg }).then((taken) => {
            observeMo(bind, msg.payload, msg.smpp.parts, taken.kind === "rapidpro" || taken.kind === "outbox");
            return taken;
          }),
        status: (status, receipt) => emit(1, { payload: status, receipt } as NodeMessage),
        unmatched: (receipt) => node.send([null, null, { payload: receipt, topic: "unmatched" } as NodeMessage]),
        receipt: (receipt, handling, arrivedAt) => observeReceipts(bind, receipt, handling, arrivedAt),
        warn: (text) => node.warn(text),
      },
      sharedParts,
    );

    const leave = bind.register(node, (status) => node.status(status));
    if (!bind.setReceiver(node, (pdu) => receiver.deliver(pdu))) {
      node.error(RED._("smpp-in.errors.receiver-taken"));
      node.status({ fill: "red", shape: "ring", text: RED._("smpp-in.status.receiver-taken") });
    }

    node.on("close", (removed: boolean, done: () => void) => {
      closing = true;
      bind.clearReceiver(node);
      leave();
      // Anything still waiting for RapidPro is answered "try again later".
      releaseHandOvers(pendingAcks, node.id);
      receiver
        .close(removed)
        .then(() => sharedParts?.close())
        .catch((err: Error) => node.error(logLine(`closing: ${err.message}`)))
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType("smpp-in", SmppIn);
}

/** One queue per bind; a queue name allows letters, digits, '-' and '_' only. */
function heldPartsQueueName(bindId: string): string {
  return `mo-parts-${bindId.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64);
}
