/**
 * smpp-out: submits an MT (msg.payload, lib/contract.ts) over its smpp-bind, every part of
 * it, records the part ids in the correlation store, and only then sends the msg on with
 * `msg.submit = { accepted, parts, smscIds, error? }` (DESIGN.md: courier is answered only
 * once the aggregator accepted or refused the message). An MT courier sends again after the
 * SMSC accepted it is answered from the store, not submitted twice (earlier-submission.ts).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { MT, SubmitError, SubmitResult } from "../../lib/contract";
import { OneAtATime } from "../../lib/one-at-a-time";
import { submitIdKey } from "../../lib/smpp/receipt";
import type { SubmitOutcome } from "../../lib/smpp/session";
import { earlierSubmission } from "../../lib/store/earlier-submission";
import type { CorrelationStore } from "../../lib/store/types";
import { buildSubmitSm, type SubmitSmOptions } from "../../lib/smpp/submit";
import type { EncodingPreference } from "../../lib/sms/alphabet";
import type { Concatenation } from "../../lib/sms/segment";
import { heldRequests, type RapidproMsgInfo } from "../shared/pending";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";
import { observeMt, observeParts } from "../shared/observe";

interface SmppOutDef extends NodeDef {
  bind: string;
  encoding: EncodingPreference;
  smart: boolean;
  split: Concatenation;
  maxParts: string | number;
  registeredDelivery: string | number;
  validity: string | number;
  priority?: string | number;
  /** Overrides of the source address type; empty keeps the rule (alphanumeric, +international, short code). */
  sourceTon?: string | number;
  sourceNpi?: string | number;
}

/** Per-message settings a flow may give in `msg.smpp`, over the node's. */
interface PerMessage {
  registeredDelivery?: number;
  /** Minutes. */
  validity?: number;
  priority?: number;
}

interface OutMsg extends NodeMessage {
  rapidpro?: RapidproMsgInfo;
  submit?: SubmitResult;
  smpp?: PerMessage;
}

/** Answer courier this long before its held request would time out. */
const DEADLINE_MARGIN_MS = 1_000;
const ENCODINGS: readonly EncodingPreference[] = ["auto", "ucs2", "latin1", "ia5"];
const SPLITS: readonly Concatenation[] = ["udh8", "udh16", "sar", "payload"];
/**
 * Submissions of one RapidPro id on one bind, one at a time: courier's resend of an MT whose
 * first submit is still waiting for the SMSC then finds the first one's result in the store.
 */
const submissionsOfOneMessage = new OneAtATime();

export default function (RED: NodeAPI) {
  function SmppOut(this: Node, config: SmppOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const bind = RED.nodes.getNode(config.bind) as SmppBindNode | null;
    const options = buildOptions(config);
    if (!bind) {
      node.status({ fill: "red", shape: "ring", text: RED._("smpp-out.status.no-bind") });
      node.error(RED._("smpp-out.errors.no-bind"));
      return;
    }
    const leave = bind.register(node, (status) => node.status(status));

    node.on("input", (input: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = input as OutMsg;
      const id = (msg.payload as Partial<MT> | undefined)?.id;
      submissionsOfOneMessage.run(`${bind.id}\n${String(id)}`, () => submitMt(bind, msg, withMessageSettings(options, msg.smpp))).then(
        ({ result, warning }) => {
          msg.submit = result;
          observeMt(bind, msg.payload as Partial<MT> | undefined, result);
          if (warning) node.warn(warning);
          send(msg);
          if (result.accepted) done();
          else done(new Error(`SMPP submit not accepted: ${result.error?.text ?? "unknown"}`));
        },
        (err: Error) => done(err),
      );
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      leave();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("smpp-out", SmppOut);
}

function buildOptions(config: SmppOutDef): SubmitSmOptions {
  const validity = Number(config.validity);
  const options: SubmitSmOptions = {
    encoding: ENCODINGS.includes(config.encoding) ? config.encoding : "auto",
    smart: config.smart !== false,
    split: SPLITS.includes(config.split) ? config.split : "udh8",
    maxParts: Number(config.maxParts) > 0 ? Number(config.maxParts) : undefined,
    registeredDelivery: config.registeredDelivery === undefined || config.registeredDelivery === "" ? 1 : Number(config.registeredDelivery),
    validityMinutes: validity > 0 ? validity : undefined,
    priority: isSet(config.priority) ? Number(config.priority) : undefined,
  };
  if (isSet(config.sourceTon) || isSet(config.sourceNpi)) {
    options.source = { ton: isSet(config.sourceTon) ? Number(config.sourceTon) : undefined, npi: isSet(config.sourceNpi) ? Number(config.sourceNpi) : undefined };
  }
  return options;
}

/** `msg.smpp` settings over the node's; buildSubmitSm refuses values out of range with a reason. */
function withMessageSettings(options: SubmitSmOptions, perMessage: PerMessage | undefined): SubmitSmOptions {
  if (!perMessage || typeof perMessage !== "object") return options;
  return {
    ...options,
    ...(perMessage.registeredDelivery !== undefined ? { registeredDelivery: Number(perMessage.registeredDelivery) } : {}),
    ...(perMessage.validity !== undefined ? { validityMinutes: Number(perMessage.validity) } : {}),
    ...(perMessage.priority !== undefined ? { priority: Number(perMessage.priority) } : {}),
  };
}

function isSet(value: string | number | undefined): value is string | number {
  return value !== undefined && value !== "";
}

function refused(error: SubmitError, parts = 0): SubmitResult {
  return { accepted: false, parts, smscIds: [], error };
}

/**
 * Submits every part; accepted only when every part was. The first failure gives the error.
 * Correlation is stored before the result is returned, so a receipt that follows finds it.
 */
async function submitMt(bind: SmppBindNode, msg: OutMsg, options: SubmitSmOptions): Promise<{ result: SubmitResult; warning?: string }> {
  const session = bind.session;
  if (!session) return { result: refused({ code: "BIND_MISCONFIGURED", text: bind.configError ?? "smpp-bind is misconfigured", temporary: true }) };
  const mt = msg.payload as MT;
  if (!mt || typeof mt !== "object" || typeof mt.id !== "string" || !mt.id) {
    return { result: refused({ code: "INVALID_MT", text: "msg.payload is not an MT: it needs id, to, from and text", temporary: false }) };
  }
  const built = buildSubmitSm(mt, options);
  if (!built.ok) return { result: refused(built.error) };

  let store: CorrelationStore;
  try {
    store = await bind.store();
    const earlier = await earlierSubmission(store, mt.id);
    if (earlier) return { result: earlier };
  } catch (err) {
    // Without the store, a resend cannot be recognised nor a receipt matched: courier tries later.
    return { result: refused({ code: "STORE_UNAVAILABLE", text: `correlation store: ${(err as Error).message}`, temporary: true }) };
  }

  const held = msg.rapidpro?.request ? heldRequests.deadlineOf(msg.rapidpro.request) : undefined;
  const deadline = held ? held - DEADLINE_MARGIN_MS : undefined;
  const outcomes: SubmitOutcome[] = await Promise.all(built.pdus.map((pdu) => session.submit(pdu, { deadline })));
  observeParts(bind, mt, outcomes);
  const failedAt = outcomes.findIndex((o) => !o.ok);
  if (failedAt >= 0) {
    const failed = outcomes[failedAt] as Extract<SubmitOutcome, { ok: false }>;
    const prefix = built.parts > 1 ? `part ${failedAt + 1} of ${built.parts}: ` : "";
    return { result: refused({ ...failed.error, text: prefix + failed.error.text }, built.parts) };
  }
  const smscIds = outcomes.map((o) => (o.ok ? o.messageId : ""));
  const result: SubmitResult = { accepted: true, parts: built.parts, smscIds };
  try {
    await store.put(mt.id, smscIds.map((id) => submitIdKey(id, bind.idMode)));
  } catch (err) {
    // Accepted by the SMSC: refusing now would make courier send it twice.
    return { result, warning: `message ${mt.id} accepted, but its receipts cannot be matched: ${(err as Error).message}` };
  }
  return { result };
}
