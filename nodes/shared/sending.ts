/**
 * What every SMSC sending node (smpp-out, ucp-out) is: it registers with its bind, mirrors the
 * bind's status, hands `msg.payload` and the per-message settings (`msg.<protocol>`) to its
 * lib/ sender with the held courier request's deadline, and sends the msg on with `msg.submit`.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { SubmitResult } from "../../lib/contract";
import type { SubmissionOutcome } from "../../lib/delivery/submissions";
import type { BindCore } from "./bind";
import { heldRequests, type RapidproMsgInfo } from "./pending";

interface OutMsg extends NodeMessage {
  rapidpro?: RapidproMsgInfo;
  submit?: SubmitResult;
  [perMessage: string]: unknown;
}

/** Answer courier this long before its held request would time out. */
const DEADLINE_MARGIN_MS = 1_000;

export function sendingNode<D extends NodeDef & { bind: string }, B extends BindCore<unknown>>(
  RED: NodeAPI,
  type: string,
  protocol: string,
  settingsKey: string,
  makeSender: (bind: B, config: D) => { send(payload: unknown, perMessage?: unknown, deadline?: number): Promise<SubmissionOutcome> },
) {
  return function (this: Node, config: D) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as unknown as B | null;
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._(`${type}.status.no-bind`) });
      node.error(RED._(`${type}.errors.no-bind`));
      return;
    }
    const sender = makeSender(bind, config);
    const leave = bind.register(node, (status) => node.status(status));

    node.on("input", (input: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = input as OutMsg;
      const held = msg.rapidpro?.request ? heldRequests.deadlineOf(msg.rapidpro.request) : undefined;
      void sender.send(msg.payload, msg[settingsKey], held ? held - DEADLINE_MARGIN_MS : undefined).then(({ result, warning }) => {
        msg.submit = result;
        if (warning) node.warn(warning);
        send(msg);
        if (result.accepted) done();
        else done(new Error(`${protocol} submit not accepted: ${result.error?.text ?? "unknown"}`));
      });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      leave();
      node.status({});
      done();
    });
  };
}
