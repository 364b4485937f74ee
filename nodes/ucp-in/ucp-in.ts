/**
 * ucp-in: what the SMSC of its ucp-bind delivers (on the bind's connection or its receive
 * port), on three outputs:
 *   1. MO from OT 52 and OT 01 (`msg.payload` = { from, to, text, date }), long ones reassembled;
 *   2. delivery statuses from OT 53 for RapidPro (`{ id, status, smscId, reason }`, via the store);
 *   3. notifications whose (recipient, SCTS) is not in the store.
 * Each operation is answered once its msg was acknowledged (`msg.ack`, settled by rapidpro-out),
 * with the result lib/ucp/receiver.ts's table gives. The rules live in lib/ucp/receiver.ts and
 * lib/delivery/; what every receiving node does, in nodes/shared/receiving.ts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { UcpReceiver } from "../../lib/ucp/receiver";
import { keptParts, outputs, RECEIVING_DEFAULTS, seconds, serveBind, type ReceivingDef } from "../shared/receiving";
import type { UcpBindNode } from "../ucp-bind/ucp-bind";

type UcpInDef = NodeDef & ReceivingDef & { bind: string };

export default function (RED: NodeAPI) {
  function UcpIn(this: Node, config: UcpInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as UcpBindNode | null;
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._("ucp-in.status.no-bind") });
      node.error(RED._("ucp-in.errors.no-bind"));
      return;
    }
    const state = { closing: false };
    const emit = outputs(node, config, () => state.closing);
    const receiver = new UcpReceiver(
      () => bind.store(),
      keptParts(RED, node, bind),
      {
        unmatchedWaitMs: seconds(config.unmatchedWait, RECEIVING_DEFAULTS.unmatchedWaitSeconds, true),
        reassemblyTimeoutMs: seconds(config.reassemblyTimeout, RECEIVING_DEFAULTS.reassemblySeconds),
      },
      {
        mo: (msg) => emit(0, { ...msg }),
        status: (status, notification) => emit(1, { payload: status, notification } as NodeMessage),
        unmatched: (notification) => node.send([null, null, { payload: notification, topic: "unmatched" } as NodeMessage]),
        warn: (text) => node.warn(text),
      },
    );
    serveBind(RED, "ucp-in", node, bind, (delivery) => receiver.deliver(delivery), receiver, state);
  }

  RED.nodes.registerType("ucp-in", UcpIn);
}
