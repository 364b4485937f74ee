/**
 * rapidpro-channel (config): one RapidPro External API (EX) channel. Owns the keep-alive
 * connections to courier that every rapidpro-out node of this channel shares, and the durable
 * outbox of calls bound for courier (MO, statuses, opt-outs), drained in order per key.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { limitHeapGrowth } from "../../lib/heap-growth";
import { authorizationChecker } from "../../lib/rapidpro/authorization";
import type { CourierCall } from "../../lib/rapidpro/callbacks";
import { CourierClient } from "../../lib/rapidpro/courier-client";
import { isChannelUuid } from "../../lib/rapidpro/uuid";
import { logLine } from "../../lib/text/peer-value";
import { withinMs } from "../../lib/time-limit";
import { QueueConsumer } from "../../lib/store/queue-consumer";
import type { DurableQueue } from "../../lib/store/queue";
import { resolveEnvReference } from "../shared/env";
import { openNodeQueue } from "../shared/store";
import { observeChannel, observeOutbox } from "../shared/observe";

export interface RapidproChannelDef extends NodeDef {
  baseUrl: string;
  channelUuid: string;
  maxPending: string | number;
  giveUpAfter: string | number;
  /** Keep MO and statuses in a durable queue before acknowledging the aggregator. */
  queue: boolean | string;
  /** Where the queue lives: empty for the user directory, `redis://…` for Redis. */
  storeUrl: string;
  /** Accept send requests without an Authorization header when no value is set (off by default). */
  allowNoAuth?: boolean | string;
}

export interface RapidproChannelCredentials {
  authorization?: string;
}

/** The durable outbox of one channel; undefined when the channel posts directly. */
export interface Outbox {
  /**
   * Resolves once the call is durable; its key keeps calls of one message (or sender) in
   * order. With a `onceId`, a call already queued under that id is not queued again: then it
   * resolves false.
   */
  push(key: string, call: CourierCall, onceId?: string): Promise<boolean>;
}

export interface RapidproChannelNode extends Node<RapidproChannelCredentials> {
  baseUrl: string;
  channelUuid: string;
  /** Why this channel cannot be used, if it cannot. */
  configError?: string;
  /**
   * How send requests are authorized: `checked` against the configured value; `open` (no
   * value, and the user ticked "accept requests without Authorization"); `refused` (no value:
   * every request gets 401).
   */
  authMode: "checked" | "open" | "refused";
  /** True when courier's Authorization header matches the configured value, or the channel is open. */
  authorizes(header: string | undefined): boolean;
  /** The shared client to courier (undefined when the config is invalid). */
  courier?: CourierClient;
  /**
   * Resolves to the outbox once it is open and answered, or to undefined when the channel
   * posts directly. When the outbox cannot be used it resolves to one whose every push fails,
   * and `outboxError` says why.
   */
  outbox: Promise<Outbox | undefined>;
  outboxError?: string;
}

/** How long the outbox may take to answer its first question at start. */
const OUTBOX_CHECK_MS = 10_000;

export default function (RED: NodeAPI) {
  // Once per Node-RED start: every bridge has a channel (lib/heap-growth.ts says why).
  const heapGrowth = limitHeapGrowth((RED.settings as unknown as { rapidproSms?: { heapGrowingPercent?: unknown } }).rapidproSms?.heapGrowingPercent);
  if (!heapGrowth.applied && heapGrowth.reason.includes("must be")) RED.log.warn(`rapidpro-sms: ${heapGrowth.reason}`);

  function RapidproChannel(this: RapidproChannelNode, config: RapidproChannelDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    this.baseUrl = (config.baseUrl ?? "").trim();
    this.channelUuid = (config.channelUuid ?? "").trim();
    const expected = resolveEnvReference(this.credentials?.authorization);
    let queue: DurableQueue<CourierCall> | undefined;
    let consumer: QueueConsumer<CourierCall> | undefined;

    this.configError = validate(this.baseUrl, this.channelUuid);
    if (this.configError) {
      this.error(this.configError);
    } else {
      this.courier = new CourierClient({
        baseUrl: this.baseUrl,
        channelUuid: this.channelUuid,
        maxPending: Number(config.maxPending) || undefined,
        giveUpAfterMs: Number(config.giveUpAfter) > 0 ? Number(config.giveUpAfter) * 1000 : undefined,
      });
    }
    const allowNoAuth = config.allowNoAuth === true || config.allowNoAuth === "true";
    this.authMode = expected ? "checked" : allowNoAuth ? "open" : "refused";
    if (this.authMode === "open") this.warn(RED._("rapidpro-channel.warn.open"));
    if (this.authMode === "refused") this.error(RED._("rapidpro-channel.errors.no-authorization"));
    const matches = expected ? authorizationChecker(expected) : undefined;
    this.authorizes = matches ?? (() => this.authMode === "open");
    observeChannel(RED, node);

    const useQueue = config.queue === true || config.queue === "true";
    this.outbox = useQueue && this.courier ? openOutbox() : Promise.resolve(undefined);

    /**
     * The durable outbox, checked with one question at start. One that cannot be used (an
     * unknown scheme, a Redis that does not answer) is not replaced by direct calls: that
     * would drop the promise the queue makes. The channel records why (`outboxError`, shown
     * red by rapidpro-in, which answers 503) and every push fails, so each aggregator hears
     * "not taken" and delivers again later.
     */
    async function openOutbox(): Promise<Outbox> {
      try {
        const opened = await openNodeQueue<CourierCall>(RED, config.storeUrl, `courier-${node.channelUuid}`, (err) => node.error(`outbox: ${logLine(err.message)}`));
        queue = opened;
        observeOutbox(node, opened);
        await withinMs(opened.size(), OUTBOX_CHECK_MS, `no answer within ${OUTBOX_CHECK_MS / 1000} s`);
        consumer = new QueueConsumer(opened, (item) => deliver(node, item.value), {
          concurrency: 32,
          onError: (err) => node.error(`outbox: ${logLine(err.message)}`),
        });
        consumer.start();
        return {
          async push(key, call, onceId) {
            const queued = onceId === undefined ? (await opened.push(key, call), true) : await opened.pushOnce(key, call, onceId);
            if (queued) consumer?.notify();
            return queued;
          },
        };
      } catch (err) {
        // Closed at once, so a Redis that is down is not retried (and logged) behind a stopped outbox.
        await queue?.close().catch(() => undefined);
        queue = undefined;
        node.outboxError = `outbox unusable: ${logLine((err as Error).message, 200)}`;
        node.error(`${node.outboxError}; nothing is sent to courier until it is fixed and the flow deployed again`);
        const reason = node.outboxError;
        return { push: () => Promise.reject(new Error(reason)) };
      }
    }

    this.on("close", (_removed: boolean, done: () => void) => {
      const finish = async () => {
        await node.outbox.catch(() => undefined);
        await consumer?.stop();
        await queue?.close();
        node.courier?.close();
      };
      finish().then(
        () => done(),
        (err: Error) => {
          node.error(`closing: ${err.message}`);
          done();
        },
      );
    });
  }

  RED.nodes.registerType<RapidproChannelNode, RapidproChannelDef, object, RapidproChannelCredentials>("rapidpro-channel", RapidproChannel, {
    credentials: { authorization: { type: "password" } },
  });
}

/** One delivery attempt from the outbox; the consumer retries with its own back-off. */
async function deliver(node: RapidproChannelNode, call: CourierCall): Promise<"done" | "retry" | "drop"> {
  const outcome = await node.courier!.send(call, { deadline: Date.now() });
  if (outcome.ok) return "done";
  if (outcome.temporary) return "retry";
  node.error(`courier refused a queued ${call.action} call for good, dropped: ${logLine(outcome.reason)}`);
  return "drop";
}

function validate(baseUrl: string, channelUuid: string): string | undefined {
  if (!isChannelUuid(channelUuid)) {
    return `channel UUID "${channelUuid}" is not a lowercase UUID (8-4-4-4-12 hex digits) as courier expects`;
  }
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") return `courier URL must be http or https, not ${url.protocol}`;
  } catch {
    return `courier URL "${baseUrl}" is not a URL`;
  }
  return undefined;
}
