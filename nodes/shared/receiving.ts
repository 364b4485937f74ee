/**
 * What every SMSC receiving node (smpp-in, ucp-in) does around its lib/ receiver: it emits on
 * one of three outputs (MO, status, unmatched) with an ack token and waits for rapidpro-out's
 * acknowledgement (lib/delivery/hand-over.ts), and keeps the parts of long MOs on this machine
 * (lib/delivery/mo-desk.ts).
 */
import { logLine } from "../../lib/text/peer-value";
import type { Node, NodeAPI, NodeMessage } from "node-red";
import type { HandOver } from "../../lib/delivery/answers";
import { handOver, releaseHandOvers } from "../../lib/delivery/hand-over";
import type { KeptParts } from "../../lib/delivery/mo-desk";
import type { StoredPart } from "../../lib/sms/held-parts";
import { MemoryQueue } from "../../lib/store/queue-memory";
import type { BindCore } from "./bind";
import { resolveEnvReference } from "./env";
import { pendingAcks } from "./pending";
import { openNodeQueue } from "./store";

export interface ReceivingDef {
  /** "rapidpro": answer when msg.ack is settled; "receipt": answer at once. */
  ackMode: "rapidpro" | "receipt";
  ackTimeout: string | number;
  reassemblyTimeout: string | number;
  /** Seconds to keep looking up a receipt whose message id is not (yet) in the store. */
  unmatchedWait: string | number;
}

export const RECEIVING_DEFAULTS = { ackTimeoutSeconds: 25, reassemblySeconds: 300, unmatchedWaitSeconds: 20 } as const;

import { seconds } from "./settings";

export { seconds };

/** Emits on one output and resolves with how the hand-over ended; once `closing()`, nothing waits. */
export function outputs(node: Node, config: ReceivingDef, closing: () => boolean) {
  return (output: 0 | 1 | 2, msg: NodeMessage & { ack?: string }): Promise<HandOver> =>
    handOver({ acks: pendingAcks, owner: node.id, timeoutMs: seconds(config.ackTimeout, RECEIVING_DEFAULTS.ackTimeoutSeconds), wait: config.ackMode !== "receipt" && !closing() }, (ack) => {
      if (ack) msg.ack = ack;
      const out: Array<NodeMessage | null> = [null, null, null];
      out[output] = msg;
      node.send(out);
    });
}

/**
 * Where the parts of long MOs are kept: on this machine, since they belong to this instance's
 * session even when the bind's store is a Redis shared by several; in memory when the bind's
 * store is (`memory:`, tests).
 */
export function keptParts(RED: NodeAPI, node: Node, bind: { id: string; storeUrl: string }): KeptParts {
  const inMemory = resolveEnvReference(bind.storeUrl).trim().startsWith("memory:");
  return openNodeQueue<StoredPart>(RED, inMemory ? "memory:" : undefined, heldPartsQueueName(bind.id), (err) => node.error(logLine(`long MO parts: ${err.message}`))).then(
    (queue) => ({ queue, durable: !inMemory }),
    (err: Error) => {
      node.error(logLine(`cannot open the store of long MO parts (${err.message}): they are held in memory only`));
      return { queue: new MemoryQueue<StoredPart>(), durable: false };
    },
  );
}

/** One queue per bind; a queue name allows letters, digits, '-' and '_' only. */
function heldPartsQueueName(bindId: string): string {
  return `mo-parts-${bindId.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64);
}

/**
 * Joins the bind as its one receiving node (`<type>.errors.receiver-taken` if another is) and
 * undoes it all on close: anything still waiting for RapidPro is answered "try again later",
 * then the receiver closes. `state.closing` is set first, so nothing new waits.
 */
export function serveBind<H>(RED: NodeAPI, type: string, node: Node, bind: BindCore<H>, handler: H, receiver: { close(removed: boolean): Promise<void> }, state: { closing: boolean }): void {
  const leave = bind.register(node, (status) => node.status(status));
  if (!bind.setReceiver(node, handler)) {
    node.error(RED._(`${type}.errors.receiver-taken`));
    node.status({ fill: "red", shape: "ring", text: RED._(`${type}.status.receiver-taken`) });
  }
  node.on("close", (removed: boolean, done: () => void) => {
    state.closing = true;
    bind.clearReceiver(node);
    leave();
    releaseHandOvers(pendingAcks, node.id);
    receiver
      .close(removed)
      .catch((err: Error) => node.error(logLine(`closing: ${err.message}`)))
      .finally(() => {
        node.status({});
        done();
      });
  });
}
