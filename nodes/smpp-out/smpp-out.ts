/**
 * smpp-out: submits the MT in msg.payload (lib/contract.ts) over its smpp-bind and sends the
 * msg on with `msg.submit = { accepted, parts, smscIds, error?, repeat? }` once the SMSC decided
 * and the correlation is stored (DESIGN.md: courier is answered only then). `msg.smpp` may give
 * { registeredDelivery, validity, priority } for one message. The rules, a resend answered from
 * the store included, are lib/smpp/sender.ts's and lib/delivery/'s; the node's shape is
 * nodes/shared/sending.ts.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { SmppSender, type SmppOutConfig } from "../../lib/smpp/sender";
import { sendingNode } from "../shared/sending";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";
import { observeParts } from "../shared/observe";

type SmppOutDef = NodeDef & SmppOutConfig & { bind: string };

export default function (RED: NodeAPI) {
  RED.nodes.registerType(
    "smpp-out",
    sendingNode<SmppOutDef, SmppBindNode>(RED, "smpp-out", "SMPP", "smpp", (bind, config) => new SmppSender(bind, config, (mt, outcomes, timing) => observeParts(bind, mt, outcomes, timing))),
  );
}
