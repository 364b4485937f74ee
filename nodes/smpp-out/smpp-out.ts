/**
 * smpp-out: submits the MT in msg.payload (lib/contract.ts) over its smpp-bind and sends the
 * msg on with `msg.submit = { accepted, parts, smscIds, error?, repeat? }` once the SMSC decided
 * and the correlation is stored (DESIGN.md: courier is answered only then). The rules, a
 * resend answered from the store included, are lib/smpp/sender.ts's and lib/delivery/'s.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { MT, SubmitResult } from "../../lib/contract";
import { SmppSender, type SmppOutConfig } from "../../lib/smpp/sender";
import { heldRequests, type RapidproMsgInfo } from "../shared/pending";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";
import { observeMt, observeParts } from "../shared/observe";

type SmppOutDef = NodeDef & SmppOutConfig & { bind: string };

interface OutMsg extends NodeMessage {
  rapidpro?: RapidproMsgInfo;
  submit?: SubmitResult;
  smpp?: unknown;
}

/** Answer courier this long before its held request would time out. */
const DEADLINE_MARGIN_MS = 1_000;

export default function (RED: NodeAPI) {
  function SmppOut(this: Node, config: SmppOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as SmppBindNode | null;
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._("smpp-out.status.no-bind") });
      node.error(RED._("smpp-out.errors.no-bind"));
      return;
    }
    const sender = new SmppSender(bind, config, (mt, outcomes) => observeParts(bind, mt, outcomes));
    const leave = bind.register(node, (status) => node.status(status));

    node.on("input", (input: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = input as OutMsg;
      const held = msg.rapidpro?.request ? heldRequests.deadlineOf(msg.rapidpro.request) : undefined;
      void sender.send(msg.payload, msg.smpp, held ? held - DEADLINE_MARGIN_MS : undefined).then(({ result, warning }) => {
        msg.submit = result;
        observeMt(bind, msg.payload as Partial<MT> | undefined, result);
        if (warning) node.warn(warning);
        send(msg);
        if (result.accepted) done();
        else done(new Error(`SMPP submit not accepted: ${result.error?.text ?? "unknown"}`));
      });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      leave();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("smpp-out", SmppOut);
}
