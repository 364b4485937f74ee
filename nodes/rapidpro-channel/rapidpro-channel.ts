/**
 * rapidpro-channel (config): one RapidPro External API (EX) channel. Owns the keep-alive
 * connection pool to courier that every rapidpro-out node of this channel shares.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { authorizationMatches } from "../../lib/rapidpro/authorization";
import { CourierClient } from "../../lib/rapidpro/courier-client";
import { isChannelUuid } from "../../lib/rapidpro/uuid";
import { resolveCredential } from "../shared/credentials";

export interface RapidproChannelDef extends NodeDef {
  baseUrl: string;
  channelUuid: string;
  maxPending: string | number;
  giveUpAfter: string | number;
}

export interface RapidproChannelCredentials {
  authorization?: string;
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
}

export default function (RED: NodeAPI) {
  function RapidproChannel(this: RapidproChannelNode, config: RapidproChannelDef) {
    RED.nodes.createNode(this, config);
    this.baseUrl = (config.baseUrl ?? "").trim();
    this.channelUuid = (config.channelUuid ?? "").trim();
    const expected = resolveCredential(this.credentials?.authorization);

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

    this.authorizes = (header) => !expected || authorizationMatches(header, expected);

    this.on("close", (_removed: boolean, done: () => void) => {
      this.courier?.close();
      done();
    });
  }

  RED.nodes.registerType<RapidproChannelNode, RapidproChannelDef, object, RapidproChannelCredentials>("rapidpro-channel", RapidproChannel, {
    credentials: { authorization: { type: "password" } },
  });
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
