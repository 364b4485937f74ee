/**
 * rapidpro-in: the endpoint courier's EX channel sends MT to. Each request is held until a
 * rapidpro-out node answers it from the submit result, or until the timeout answers 503 so
 * that courier retries: RapidPro stays the store of record until the aggregator has the message.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { AllowList, refusalReason } from "../../lib/net/allowlist";
import { replyForError, replyForShutdown, replyForTimeout } from "../../lib/rapidpro/reply";
import { DEFAULT_FIELDS, bodyFormatOf, parseSendRequest, type BodyFormat, type FieldMapping } from "../../lib/rapidpro/send";
import { openEndpoint, type Endpoint } from "../shared/endpoint";
import { resolveEnvReference } from "../shared/env";
import { shortStatusText } from "../shared/status";
import { heldRequests } from "../shared/pending";
import { observeMtRequest, observeMtTimeout } from "../shared/observe";
import type { RapidproChannelNode } from "../rapidpro-channel/rapidpro-channel";

interface RapidproInDef extends NodeDef, Partial<Record<`field_${keyof FieldMapping}`, string>> {
  channel: string;
  path: string;
  timeout: string | number;
  format: BodyFormat;
  /** Source addresses courier sends from (IPs, CIDR ranges); empty: any address. */
  allowedIps?: string;
  /** Proxies whose X-Forwarded-For is believed when checking the source. */
  trustedProxies?: string;
}

/** Courier waits 30 s for an answer; answering before that keeps the retry ours to decide. */
const DEFAULT_TIMEOUT_S = 25;
/** Courier's bodies are at most a few kB; anything near a megabyte is not courier. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export default function (RED: NodeAPI) {
  function RapidproIn(this: Node, config: RapidproInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const channel = RED.nodes.getNode(config.channel) as RapidproChannelNode | null;
    const timeoutMs = (Number(config.timeout) > 0 ? Number(config.timeout) : DEFAULT_TIMEOUT_S) * 1000;
    const mapping = fieldMapping(config);
    let timeouts = 0;

    if (!channel) {
      node.status({ fill: "red", shape: "ring", text: "rapidpro-in.status.no-channel" });
      node.error(RED._("rapidpro-in.errors.no-channel"));
      return;
    }

    let sources: { allowed: AllowList; trustedProxies?: AllowList } | undefined;
    try {
      sources = sourceRules(config);
    } catch (err) {
      const reason = `allowed addresses: ${(err as Error).message}`;
      node.status({ fill: "red", shape: "ring", text: RED._("rapidpro-in.status.bad-sources") });
      node.error(reason);
      return;
    }

    const opened = openEndpoint(RED, {
      path: config.path || "/rapidpro/send",
      methods: ["get", "post", "put"],
      limitBytes: BODY_LIMIT_BYTES,
      // A raw (custom content type) body is not percent-decoded, so its % signs are text.
      decodesFormBody: (contentType) => bodyFormatOf(contentType, config.format || "auto") === "form",
      onError: (err) => node.error(err),
      onRequest(call, respond) {
        const refusal = sources && refusalReason(call.remoteAddress, call.headers["x-forwarded-for"], sources.allowed, { trustedProxies: sources.trustedProxies });
        if (refusal) {
          node.warn(`refused a send request: ${refusal}`);
          respond(replyForError(403, "source address not allowed"));
          return;
        }
        if (channel.authMode === "refused") {
          respond(replyForError(401, "this channel has no Authorization value set: every send request is refused"));
          return;
        }
        if (!channel.authorizes(header(call.headers.authorization))) {
          respond(replyForError(401, "Authorization header missing or wrong"));
          return;
        }
        if (channel.outboxError) {
          // Statuses for this MT would have no durable way back: courier keeps it and retries.
          respond(replyForError(503, "the channel's outbox is unusable; retry later"));
          return;
        }
        const parsed = parseSendRequest(
          { method: call.method, contentType: header(call.headers["content-type"]), query: call.query, body: call.body },
          mapping,
          config.format || "auto",
        );
        if (!parsed.ok) {
          node.warn(`refused a send request: ${parsed.reason}`);
          respond(replyForError(parsed.status, parsed.reason));
          return;
        }
        observeMtRequest(channel, parsed.mt);
        const request = heldRequests.hold(node.id, respond, timeoutMs, () => {
          timeouts++;
          observeMtTimeout(channel, parsed.mt, replyForTimeout(timeoutMs).status);
          node.warn(`no answer for message ${parsed.mt.id || "(no id)"} within ${timeoutMs / 1000} s: answered 503 so courier retries`);
          showStatus();
          return replyForTimeout(timeoutMs);
        });
        // The held request's token (a UUID) is unique per request, so it is the msg's _msgid too:
        // Node-RED would otherwise build one from eight Math.random() hex pairs per MT.
        node.send({ _msgid: request, payload: parsed.mt, rapidpro: { request, source: node.id } } as NodeMessage);
      },
    });

    if ("error" in opened) {
      node.status({ fill: "red", shape: "ring", text: shortStatusText(opened.error) });
      node.error(opened.error);
      return;
    }
    const endpoint: Endpoint = opened;
    const showStatus = () => {
      if (channel.configError) node.status({ fill: "red", shape: "ring", text: "rapidpro-in.status.bad-channel" });
      else if (channel.outboxError) node.status({ fill: "red", shape: "ring", text: "rapidpro-in.status.no-outbox" });
      else if (channel.authMode === "refused") node.status({ fill: "red", shape: "ring", text: "rapidpro-in.status.no-authorization" });
      else if (channel.authMode === "open") node.status({ fill: "yellow", shape: "ring", text: "rapidpro-in.status.open" });
      else if (timeouts > 0) node.status({ fill: "yellow", shape: "dot", text: RED._("rapidpro-in.status.timeouts", { count: timeouts }) });
      else node.status({ fill: "green", shape: "dot", text: RED._("rapidpro-in.status.listening", { path: config.path || "/rapidpro/send" }) });
    };
    showStatus();
    let closed = false;
    // An outbox that fails its check at start turns the status red.
    void channel.outbox.then(() => closed || showStatus());

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      endpoint.close();
      heldRequests.releaseOwner(node.id, replyForShutdown);
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("rapidpro-in", RapidproIn);
}

/** The optional source allow-list; throws on an entry that is not an address or range. */
function sourceRules(config: RapidproInDef): { allowed: AllowList; trustedProxies?: AllowList } | undefined {
  const allowed = new AllowList(resolveEnvReference(config.allowedIps));
  if (allowed.size === 0) return undefined;
  const proxies = new AllowList(resolveEnvReference(config.trustedProxies));
  if (proxies.allowsAny) throw new Error("* cannot name trusted proxies: any client could then choose its own address");
  return { allowed, trustedProxies: proxies.size > 0 ? proxies : undefined };
}

function fieldMapping(config: RapidproInDef): FieldMapping {
  const mapping = { ...DEFAULT_FIELDS };
  for (const key of Object.keys(DEFAULT_FIELDS) as Array<keyof FieldMapping>) {
    const configured = config[`field_${key}`];
    if (configured && configured.trim()) mapping[key] = configured.trim();
  }
  return mapping;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
