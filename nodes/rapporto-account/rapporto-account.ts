/**
 * rapporto-account (config): one Rapporto HTTP service. Owns the client (keep-alive pool and
 * the rate limit shared by every rapporto-mt using the account), the correlation store that
 * rapporto-mt writes and rapporto-dlr reads, and the source rules of the push endpoints.
 */
import { EventEmitter } from "node:events";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { AllowList } from "../../lib/net/allowlist";
import { RapportoClient, type ClientOptions } from "../../lib/rapporto/client";
import { DOCUMENTED_RATE_PER_SECOND } from "../../lib/rapporto/codes";
import { compileProfile, type Account, type HttpMethod, type Profile } from "../../lib/rapporto/profile";
import type { SourceRules } from "../../lib/rapporto/receiver";
import type { CorrelationStore } from "../../lib/store/types";
import { resolveEnvReference } from "../shared/env";
import { registerHealth } from "../shared/health";
import { openNodeStore } from "../shared/store";

export interface RapportoAccountDef extends NodeDef {
  url: string;
  serviceId: string;
  source: string;
  profile: "v5" | "custom";
  method: HttpMethod;
  output: "text" | "xml";
  p_destination: string;
  p_text: string;
  p_sender: string;
  p_login: string;
  p_password: string;
  p_partnerMsgId: string;
  p_schedule: string;
  idPattern: string;
  successPattern: string;
  rate: string | number;
  allowedIps: string;
  trustXff: boolean;
  trustedProxies: string;
  storeUrl: string;
}

export interface RapportoAccountCredentials {
  pass?: string;
  hashKey?: string;
}

export interface RapportoAccountNode extends Node<RapportoAccountCredentials> {
  /** Why this account cannot send, if it cannot. */
  configError?: string;
  client?: RapportoClient;
  /** Source rules for the MO and DLR endpoints (always set; an error in them is in sourceError). */
  sources: SourceRules;
  sourceError?: string;
  /** serviceId and pass, for the polling URL template only. */
  login(): { serviceId: string; pass: string };
  /** Key of the MO `hash` signature, when set. */
  signatureKey?: string;
  store(): Promise<CorrelationStore>;
  /** rapporto-mt reports each accepted message here; rapporto-dlr polling listens. */
  accepted(transactionId: string, ptag: string | undefined): void;
  onAccepted(listener: (transactionId: string, ptag: string | undefined) => void): () => void;
}

/** Node config to client settings, or the first reason they cannot work. */
export function accountSettings(config: Partial<RapportoAccountDef>, pass: string): { account: Account; client: ClientOptions } | { error: string } {
  const profile: Profile =
    config.profile === "custom"
      ? {
          kind: "custom",
          method: config.method === "POST" ? "POST" : "GET",
          params: {
            destination: (config.p_destination ?? "").trim(),
            text: (config.p_text ?? "").trim(),
            sender: config.p_sender?.trim() || undefined,
            login: config.p_login?.trim() || undefined,
            password: config.p_password?.trim() || undefined,
            partnerMsgId: config.p_partnerMsgId?.trim() || undefined,
            schedule: config.p_schedule?.trim() || undefined,
          },
          idPattern: config.idPattern ?? "",
          successPattern: config.successPattern ?? "",
        }
      : { kind: "v5", method: config.method === "POST" ? "POST" : "GET", output: config.output === "xml" ? "xml" : "text" };
  const rate = config.rate === undefined || config.rate === "" ? DOCUMENTED_RATE_PER_SECOND : Number(config.rate);
  if (!(rate > 0)) return { error: `rate must be a positive number of messages per second, not "${String(config.rate)}"` };
  const account: Account = { url: (config.url ?? "").trim(), serviceId: (config.serviceId ?? "").trim(), pass, source: config.source?.trim() || undefined, profile };
  try {
    compileProfile(profile);
    // Building a client checks URL and credentials; it is closed again at once.
    new RapportoClient(account).close();
  } catch (err) {
    return { error: (err as Error).message };
  }
  return { account, client: { ratePerSecond: rate } };
}

/** The allow-list settings, or the first entry that is not an address or range. */
export function sourceRules(config: Partial<RapportoAccountDef>): { rules: SourceRules } | { error: string } {
  try {
    const allowed = new AllowList(config.allowedIps ?? "");
    const trustedProxies = config.trustXff ? new AllowList(config.trustedProxies ?? "") : undefined;
    if (config.trustXff && trustedProxies?.size === 0) return { error: "X-Forwarded-For is trusted, but no proxy is named" };
    return { rules: { allowed, trustedProxies } };
  } catch (err) {
    return { error: `allowed addresses: ${(err as Error).message}` };
  }
}

const CLOSE_LIMIT_MS = 14_000;

export default function (RED: NodeAPI) {
  function RapportoAccount(this: RapportoAccountNode, config: RapportoAccountDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const events = new EventEmitter();
    events.setMaxListeners(0);
    let storePromise: Promise<CorrelationStore> | undefined;

    const settings = accountSettings(config, resolveEnvReference(node.credentials?.pass));
    if ("error" in settings) {
      node.configError = settings.error;
      node.error(`Rapporto account: ${settings.error}`);
    } else {
      node.client = new RapportoClient(settings.account, settings.client);
    }
    const rules = sourceRules(config);
    if ("error" in rules) {
      // Refuse every push rather than accept from anywhere.
      node.sources = { allowed: new AllowList("0.0.0.0/32") };
      node.sourceError = rules.error;
      node.error(`Rapporto account: ${rules.error}`);
    } else {
      node.sources = rules.rules;
    }
    node.login = () => ({ serviceId: (config.serviceId ?? "").trim(), pass: resolveEnvReference(node.credentials?.pass) });
    node.signatureKey = resolveEnvReference(node.credentials?.hashKey) || undefined;

    node.store = () => {
      storePromise ??= openNodeStore(RED, config.storeUrl, undefined, (err) => node.warn(`correlation store: ${err.message}`));
      return storePromise;
    };
    node.accepted = (transactionId, ptag) => events.emit("accepted", transactionId, ptag);
    node.onAccepted = (listener) => {
      events.on("accepted", listener);
      return () => events.off("accepted", listener);
    };

    const leaveHealth = registerHealth(RED, { kind: "rapporto-account", name: node.name || node.id, state: () => ({ up: !node.configError, starting: false }) }, (text) => node.warn(text));
    node.store().catch(() => undefined); // probed by the health endpoint from the start

    node.on("close", (_removed: boolean, done: () => void) => {
      leaveHealth();
      const limit = setTimeout(done, CLOSE_LIMIT_MS);
      node.client?.close();
      events.removeAllListeners();
      Promise.allSettled([storePromise?.then((s) => s.close())]).then(() => {
        clearTimeout(limit);
        done();
      });
    });
  }

  RED.nodes.registerType<RapportoAccountNode, RapportoAccountDef, object, RapportoAccountCredentials>("rapporto-account", RapportoAccount, {
    credentials: { pass: { type: "password" }, hashKey: { type: "password" } },
  });
}
