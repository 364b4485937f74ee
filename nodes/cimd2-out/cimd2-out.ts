/**
 * cimd2-out: submits the MT in msg.payload (lib/contract.ts) as op 03 packets over its
 * cimd2-bind and sends the msg on with `msg.submit = { accepted, parts, smscIds, error?, repeat? }`
 * once the SMSC decided and the correlation is stored (DESIGN.md: courier is answered only
 * then). `msg.cimd2` may give { validity, validityAbsolute, delay, deliverAt } for one message.
 * The rules, a resend answered from the store included, are lib/cimd2/sender.ts's and
 * lib/delivery/'s; the node's shape is smpp-out's (nodes/shared/sending.ts).
 */
import type { NodeAPI, NodeDef } from "node-red";
import { Cimd2Sender, type Cimd2OutConfig } from "../../lib/cimd2/sender";
import type { Cimd2BindNode } from "../cimd2-bind/cimd2-bind";
import { sendingNode } from "../shared/sending";

type Cimd2OutDef = NodeDef & Cimd2OutConfig & { bind: string };

export default function (RED: NodeAPI) {
  RED.nodes.registerType(
    "cimd2-out",
    sendingNode<Cimd2OutDef, Cimd2BindNode>(RED, "cimd2-out", "CIMD2", "cimd2", (bind, config) => new Cimd2Sender(bind, config)),
  );
}
