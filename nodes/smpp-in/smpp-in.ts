/**
 * smpp-in: deliver_sm from the SMSC of its smpp-bind, on three outputs:
 *   1. MO (`msg.payload` = { from, to, text, date }), long ones reassembled;
 *   2. delivery statuses for RapidPro (`{ id, status, smscId, reason }`, via the store);
 *   3. receipts whose message id is not in the store.
 * Each deliver_sm is answered once its msg was acknowledged (`msg.ack`, settled by
 * rapidpro-out), with the command_status lib/smpp/receiver.ts's table gives. The rules live in
 * lib/smpp/receiver.ts and lib/delivery/; what every receiving node does, in
 * nodes/shared/receiving.ts.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { SmppReceiver } from "../../lib/smpp/receiver";
import { keptParts, outputs, RECEIVING_DEFAULTS, seconds, serveBind, type ReceivingDef } from "../shared/receiving";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";

type SmppInDef = NodeDef & ReceivingDef & { bind: string };

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
    const state = { closing: false };

    const emit = outputs(node, config, () => state.closing);
    const receiver = new SmppReceiver(
      () => bind.store(),
      keptParts(RED, node, bind),
      {
        idMode: bind.idMode,
        unmatchedWaitMs: seconds(config.unmatchedWait, RECEIVING_DEFAULTS.unmatchedWaitSeconds, true),
        reassemblyTimeoutMs: seconds(config.reassemblyTimeout, RECEIVING_DEFAULTS.reassemblySeconds),
      },
      {
        mo: (msg) => emit(0, { ...msg }),
        status: (status, receipt) => emit(1, { payload: status, receipt } as NodeMessage),
        unmatched: (receipt) => node.send([null, null, { payload: receipt, topic: "unmatched" } as NodeMessage]),
        warn: (text) => node.warn(text),
      },
    );

    serveBind(RED, "smpp-in", node, bind, (pdu) => receiver.deliver(pdu), receiver, state);
  }

  RED.nodes.registerType("smpp-in", SmppIn);
}
