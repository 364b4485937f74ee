/**
 * rapidpro-channel (config): one RapidPro External API (EX) channel. Owns the keep-alive
 * connections to courier that every rapidpro-out node of this channel shares, and the durable
 * outbox of calls bound for courier (MO, statuses, opt-outs), drained in order per key.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { authorizationChecker } from "../../lib/rapidpro/authorization";
import type { CourierCall } from "../../lib/rapidpro/callbacks";
import { CourierClient } from "../../lib/rapidpro/courier-client";
import { isChannelUuid } from "../../lib/rapidpro/uuid";
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
  /** True when courier's Authorization header matches the configured value (or none is set). */
  authorizes(header: string | undefined): boolean;
  /** The shared client to courier (undefined when the config is invalid). */
  courier?: CourierClient;
  /** Resolves to the outbox once it is open, or to undefined when the channel posts directly. */
  outbox: Promise<Outbox | undefined>;
}

export default function (RED: NodeAPI) {
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
    if (!expected) this.warn(RED._("rapidpro-channel.warn.no-authorization"));
    const matches = expected ? authorizationChecker(expected) : undefined;
    this.authorizes = (header) => !matches || matches(header);
    observeChannel(RED, node);

    const useQueue = config.queue === true || config.queue === "true";
    this.outbox =
      useQueue && this.courier
        ? openNodeQueue<CourierCall>(RED, config.storeUrl, `courier-${this.channelUuid}`, (err) => node.error(`outbox: ${err.message}`)).then(
            (opened) => {
              queue = opened;
              observeOutbox(node, opened);
              consumer = new QueueConsumer(opened, (item) => deliver(node, item.value), {
                concurrency: 32,
                onError: (err) => node.error(`outbox: ${err.message}`),
              });
              consumer.start();
              return {
                async push(key, call, onceId) {
                  const queued = onceId === undefined ? (await opened.push(key, call), true) : await opened.pushOnce(key, call, onceId);
                  if (queued) consumer?.notify();
                  return queued;
                },
              };
            },
            (err: Error) => {
              node.error(`cannot open the outbox (${err.message}): calls go to courier directly`);
              return undefined;
            },
          )
        : Promise.resolve(undefined);

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
  node.error(`courier refused a queued ${call.action} call for good, dropped: ${outcome.reason}`);
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
