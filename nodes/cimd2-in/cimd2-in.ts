/**
 * cimd2-in: what the SMSC of its cimd2-bind delivers, on three outputs:
 *   1. MO from op 20 (`msg.payload` = { from, to, text, date }), long ones reassembled;
 *   2. delivery statuses from op 23 for RapidPro (`{ id, status, smscId, reason }`, via the store);
 *   3. status reports whose (`060`, `021`) is not in the store.
 * Each op 20 / op 23 is answered once its msg was acknowledged (`msg.ack`, settled by
 * rapidpro-out), with the response lib/cimd2/receiver.ts's table gives. The rules live in
 * lib/cimd2/receiver.ts and lib/delivery/; what every receiving node does, in
 * nodes/shared/receiving.ts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { Cimd2Receiver } from "../../lib/cimd2/receiver";
import type { Cimd2BindNode } from "../cimd2-bind/cimd2-bind";
import { keptParts, outputs, RECEIVING_DEFAULTS, seconds, serveBind, type ReceivingDef } from "../shared/receiving";

type Cimd2InDef = NodeDef & ReceivingDef & { bind: string };

export default function (RED: NodeAPI) {
  function Cimd2In(this: Node, config: Cimd2InDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as Cimd2BindNode | null;
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._("cimd2-in.status.no-bind") });
      node.error(RED._("cimd2-in.errors.no-bind"));
      return;
    }
    const state = { closing: false };
    const emit = outputs(node, config, () => state.closing);
    const receiver = new Cimd2Receiver(
      () => bind.store(),
      keptParts(RED, node, bind),
      {
        unmatchedWaitMs: seconds(config.unmatchedWait, RECEIVING_DEFAULTS.unmatchedWaitSeconds, true),
        reassemblyTimeoutMs: seconds(config.reassemblyTimeout, RECEIVING_DEFAULTS.reassemblySeconds),
      },
      {
        mo: (msg) => emit(0, { ...msg }),
        status: (status, report) => emit(1, { payload: status, report } as NodeMessage),
        unmatched: (report) => node.send([null, null, { payload: report, topic: "unmatched" } as NodeMessage]),
        warn: (text) => node.warn(text),
      },
    );
    serveBind(RED, "cimd2-in", node, bind, (delivery) => receiver.deliver(delivery), receiver, state);
  }

  RED.nodes.registerType("cimd2-in", Cimd2In);
}
