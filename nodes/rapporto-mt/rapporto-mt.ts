/**
 * rapporto-mt: sends the MT in `msg.payload` through its rapporto-account and emits the same
 * msg with `msg.submit = { accepted, parts, smscIds, error? }`. The correlation (Rapporto id →
 * RapidPro id) is stored before the msg leaves, so a receipt can always be matched once
 * courier has its answer.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { MT, SubmitResult } from "../../lib/contract";
import { ptagFor } from "../../lib/rapporto/mt";
import type { SendOptions } from "../../lib/rapporto/client";
import type { RapportoAccountNode } from "../rapporto-account/rapporto-account";
import { shortStatusText, throttledStatus } from "../shared/status";
import { logLine } from "../../lib/text/peer-value";
import { seconds } from "../shared/settings";

interface RapportoMtDef extends NodeDef {
  account: string;
  partnerMsgId: boolean;
  sendingTime: string;
  timeZone: string;
  flash: boolean;
  budget: string | number;
}

/** What a flow may set per message in `msg.rapporto`. */
interface MsgOptions {
  sendingTime?: string;
  timeZone?: string;
  flash?: boolean;
  source?: string;
  ptag?: string;
}

type MtMsg = NodeMessage & { payload?: Partial<MT>; rapporto?: MsgOptions; submit?: SubmitResult };

/** Courier waits 30 s for the answer to its MT request; retries must end well before. */
const DEFAULT_BUDGET_S = 25;

export default function (RED: NodeAPI) {
  function RapportoMt(this: Node, config: RapportoMtDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const account = RED.nodes.getNode(config.account) as RapportoAccountNode | null;
    const budgetMs = seconds(config.budget, DEFAULT_BUDGET_S);
    let inFlight = 0;
    let lastError: string | undefined;

    if (!account) {
      node.status({ fill: "red", shape: "ring", text: RED._("rapporto-mt.status.no-account") });
      node.error(RED._("rapporto-mt.errors.no-account"));
      return;
    }
    const showStatus = throttledStatus(() => {
      if (account.configError) node.status({ fill: "red", shape: "ring", text: shortStatusText(account.configError) });
      else if (account.storeError) node.status({ fill: "red", shape: "ring", text: shortStatusText(account.storeError) });
      else if (lastError) node.status({ fill: "yellow", shape: "dot", text: shortStatusText(lastError) });
      else node.status({ fill: "green", shape: "dot", text: RED._("rapporto-mt.status.ready", { count: inFlight }) });
    });
    showStatus();
    // The account checks its store at start; when it fails, say so here at once, in red.
    account.store().catch(() => showStatus());

    node.on("input", (input: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = input as MtMsg;
      const client = account.client;
      if (!client) {
        msg.submit = { accepted: false, parts: 0, smscIds: [], error: { code: "config", text: account.configError ?? "account misconfigured", temporary: true } };
        send(msg);
        done(new Error(`Rapporto account: ${account.configError ?? "misconfigured"}`));
        return;
      }
      const mt = msg.payload;
      if (!mt || typeof mt !== "object") {
        msg.submit = { accepted: false, parts: 0, smscIds: [], error: { code: "input", text: "msg.payload is not an MT object", temporary: false } };
        send(msg);
        done(new Error("msg.payload is not an MT object"));
        return;
      }
      const options = mtOptions(config, msg.rapporto);
      inFlight++;
      showStatus();
      const deadline = Date.now() + budgetMs;
      account
        .store()
        .then((store) => client.sendAndRecord(mt as MT, store, options, deadline))
        .catch((err: Error) => ({
          // The store did not open: nothing was sent, and courier may try again later.
          result: { accepted: false, parts: 0, smscIds: [], error: { code: "store", text: `correlation store: ${err.message}`, temporary: true } } as SubmitResult,
          attempts: 0,
          storeError: undefined,
        }))
        .then((outcome) => {
          inFlight--;
          msg.submit = outcome.result;
          if (outcome.storeError) node.warn(logLine(`message ${String(mt.id)}: ${outcome.storeError}`));
          if (outcome.result.accepted) {
            lastError = undefined;
            account.accepted(outcome.result.smscIds[0], options.ptag ?? ptagFor(String(mt.id ?? "")));
          } else {
            lastError = `${outcome.result.error?.code}: ${outcome.result.error?.text}`;
          }
          showStatus();
          send(msg);
          if (outcome.result.accepted) done();
          else done(new Error(`Rapporto MT not accepted: ${outcome.result.error?.text ?? "unknown"}`));
        });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      showStatus.cancel();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("rapporto-mt", RapportoMt);
}

/** Per-message options: msg.rapporto first, then the node's configuration. */
function mtOptions(config: RapportoMtDef, fromMsg: MsgOptions | undefined): SendOptions {
  const pick = (a: string | undefined, b: string | undefined) => (a !== undefined && a !== "" ? a : b?.trim() || undefined);
  const options: SendOptions = {
    sendingTime: pick(fromMsg?.sendingTime, config.sendingTime),
    timeZone: pick(fromMsg?.timeZone, config.timeZone),
    flash: fromMsg?.flash ?? config.flash === true,
    source: pick(fromMsg?.source, undefined),
    ptag: pick(fromMsg?.ptag, undefined),
    // The request's identity as idempotency key (partnerMsgIdFor): a resend of one part is delivered once.
    idempotent: config.partnerMsgId === true,
  };
  return options;
}
