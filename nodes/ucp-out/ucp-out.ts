/**
 * ucp-out: submits the MT in msg.payload (lib/contract.ts) as OT 51 operations over its
 * ucp-bind and sends the msg on with `msg.submit = { accepted, parts, smscIds, error?, repeat? }`
 * once the SMSC decided and the correlation is stored (DESIGN.md: courier is answered only
 * then). `msg.ucp` may give { validity, defer, notifyBuffered } for one message. The rules, a
 * resend answered from the store included, are lib/ucp/sender.ts's and lib/delivery/'s; the
 * node's shape is smpp-out's (nodes/shared/sending.ts).
 */
import type { NodeAPI, NodeDef } from "node-red";
import { UcpSender, type UcpOutConfig } from "../../lib/ucp/sender";
import { sendingNode } from "../shared/sending";
import type { UcpBindNode } from "../ucp-bind/ucp-bind";

type UcpOutDef = NodeDef & UcpOutConfig & { bind: string };

export default function (RED: NodeAPI) {
  RED.nodes.registerType(
    "ucp-out",
    sendingNode<UcpOutDef, UcpBindNode>(RED, "ucp-out", "UCP", "ucp", (bind, config) => new UcpSender(bind, config)),
  );
}
