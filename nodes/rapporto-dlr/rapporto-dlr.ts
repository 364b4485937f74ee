/**
 * rapporto-dlr: the endpoint for Rapporto's DLR push, with optional status polling. Output 1:
 * the status contract `{ id, status, smscId, reason? }` for rapidpro-out (with `msg.ack`);
 * output 2: receipts whose message stays unknown after the configured number of pushes.
 * A push is answered 200 only once its status is safe; an unknown id is answered 400 so
 * Rapporto pushes it again (it may have overtaken the MT reply).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Status } from "../../lib/contract";
import { textReply } from "../../lib/http/reply";
import { readPushParams } from "../../lib/rapporto/mo";
import { DlrIntake } from "../../lib/rapporto/dlr-intake";
import type { PollOptions } from "../../lib/rapporto/poll";
import { DlrReceiver, type DlrHandling } from "../../lib/rapporto/receiver";
import type { HandOver } from "../../lib/delivery/answers";
import { handOver, releaseHandOvers } from "../../lib/delivery/hand-over";
import { openEndpoint, type Endpoint } from "../shared/endpoint";
import { pendingAcks } from "../shared/pending";
import type { RapportoAccountNode } from "../rapporto-account/rapporto-account";
import { shortStatusText, throttledStatus } from "../shared/status";
import { logLine } from "../../lib/text/peer-value";
import { DLR_ANSWERS, type DlrPush } from "../../lib/rapporto/dlr";
import { observeDlr, traceDlr } from "../shared/observe";
import { positive, seconds } from "../shared/settings";

interface RapportoDlrDef extends NodeDef {
  account: string;
  path: string;
  maxTries: string | number;
  ackMode: "rapidpro" | "emit";
  poll: boolean;
  pollUrl: string;
  pollPattern: string;
  pollInterval: string | number;
  pollMax: string | number;
  pollMaxAge: string | number;
}

const BODY_LIMIT_BYTES = 64 * 1024;
/** The DLR push is synchronous like the MO push; answer within the same 10 s. */
const ACK_WITHIN_MS = 9_000;
const DEFAULT_MAX_TRIES = 5;

export default function (RED: NodeAPI) {
  function RapportoDlr(this: Node, config: RapportoDlrDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const account = RED.nodes.getNode(config.account) as RapportoAccountNode | null;
    const path = config.path || "/rapporto/dlr";
    const maxTries = Number(config.maxTries) >= 1 ? Math.floor(Number(config.maxTries)) : DEFAULT_MAX_TRIES;
    const waitForAck = config.ackMode !== "emit";
    const counts = { reported: 0, early: 0, unknown: 0, failed: 0 };
    const cleanup: Array<() => void> = [];

    if (!account) {
      node.status({ fill: "red", shape: "ring", text: RED._("rapporto-dlr.status.no-account") });
      node.error(RED._("rapporto-dlr.errors.no-account"));
      return;
    }

    const showStatus = throttledStatus(() => {
      const fault = account.storeError ?? account.sourceError;
      if (fault) node.status({ fill: "red", shape: "ring", text: shortStatusText(fault) });
      else node.status({ fill: counts.failed || counts.unknown ? "yellow" : "green", shape: "dot", text: RED._("rapporto-dlr.status.counts", { path, ...counts }) });
    });

    function handOn(status: Status, dlr: DlrPush): Promise<HandOver> {
      traceDlr(account!, status);
      return handOver({ acks: pendingAcks, owner: node.id, timeoutMs: ACK_WITHIN_MS, wait: waitForAck }, (ack) => {
        node.send([{ payload: status, rapporto: { dlr }, ...(ack ? { ack } : {}) } as NodeMessage, null]);
      });
    }

    const intake = new DlrIntake(
      account.store().then(
        (store) =>
          new DlrReceiver({ maxTries, ...account.sources }, store, {
            status: handOn,
            unknown: (dlr) => node.send([null, { payload: dlr, topic: "unknown" }]),
          }),
        (err: Error) => {
          node.error(logLine(`correlation store: ${err.message}`));
          showStatus();
          return undefined;
        },
      ),
      config.poll ? pollOptions(config, account.login()) : undefined,
      {
        handled: note,
        pollExpired: (id, why) => node.warn(logLine(`polling ${id} given up: ${why}`)),
        pollError: (id, reason) => node.debug(logLine(`polling ${id}: ${reason}`)),
        pollUnusable: (reason) => node.error(logLine(`polling: ${reason}`)),
      },
    );
    if (config.poll) cleanup.push(account.onAccepted((id, ptag) => intake.accepted(id, ptag)));

    function note(kind: DlrHandling["kind"], text: string | undefined): void {
      observeDlr(account!, kind);
      if (kind === "report") counts.reported++;
      else if (kind === "retry-later") counts.early++;
      else if (kind === "unknown") counts.unknown++;
      else if (kind !== "no-change") {
        counts.failed++;
        node.warn(`DLR ${kind}: ${text ?? ""}`);
      }
      showStatus();
    }

    const opened = openEndpoint(RED, {
      path,
      methods: ["get", "post"],
      limitBytes: BODY_LIMIT_BYTES,
      onError: (err) => node.error(err),
      onRequest(call, respond) {
        intake
          .push({ peer: call.remoteAddress, forwardedFor: call.headers["x-forwarded-for"], params: readPushParams(call.query, call.body) })
          .then((answer) => respond(textReply(answer.status, answer.body)))
          .catch((err: Error) => {
            node.error(logLine(`DLR push: ${err.message}`));
            respond(textReply(DLR_ANSWERS.again, "temporary failure"));
          });
      },
    });
    if ("error" in opened) {
      node.status({ fill: "red", shape: "ring", text: shortStatusText(opened.error) });
      node.error(opened.error);
      intake.close();
      for (const c of cleanup) c();
      return;
    }
    const endpoint: Endpoint = opened;
    showStatus();

    node.on("close", (_removed: boolean, done: () => void) => {
      endpoint.close();
      for (const c of cleanup) c();
      intake.close();
      releaseHandOvers(pendingAcks, node.id);
      showStatus.cancel();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("rapporto-dlr", RapportoDlr);
}

/** The node's polling fields as options; an empty field means the default. */
function pollOptions(config: RapportoDlrDef, login: { serviceId: string; pass: string }): PollOptions {
  return {
    urlTemplate: config.pollUrl ?? "",
    statusPattern: config.pollPattern ?? "",
    ...login,
    intervalMs: seconds(config.pollInterval, 60),
    maxOutstanding: positive(config.pollMax, 1000),
    maxAgeMs: seconds(config.pollMaxAge, 48) * 3600,
  };
}
