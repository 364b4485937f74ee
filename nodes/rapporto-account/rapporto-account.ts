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
import { logLine } from "../../lib/text/peer-value";
import { resolveEnvReference } from "../shared/env";
import { registerHealth } from "../shared/health";
import { openCheckedStore } from "../shared/store";
import { observeRapportoAccount } from "../shared/observe";

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
  /** Why pushes are refused from every address (a bad entry, or an empty list), for the endpoints' status. */
  sourceError?: string;
  /** serviceId and pass, for the polling URL template only. */
  login(): { serviceId: string; pass: string };
  /** Key of the MO `hash` signature, when set. */
  signatureKey?: string;
  /** The correlation store; rejects when it cannot be used, and then `storeError` says why. */
  store(): Promise<CorrelationStore>;
  storeError?: string;
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

/**
 * The allow-list settings, or the first entry that is not an address or range. An empty list
 * is valid and refuses every push (`emptyList` says so); `*` accepts every address.
 */
export function sourceRules(config: Partial<RapportoAccountDef>): { rules: SourceRules; emptyList: boolean } | { error: string } {
  try {
    const allowed = new AllowList(resolveEnvReference(config.allowedIps));
    const trustedProxies = config.trustXff ? new AllowList(resolveEnvReference(config.trustedProxies)) : undefined;
    if (config.trustXff && trustedProxies?.size === 0) return { error: "X-Forwarded-For is trusted, but no proxy is named" };
    if (trustedProxies?.allowsAny) return { error: "trusted proxies: * would let any client choose its own address" };
    return { rules: { allowed, trustedProxies }, emptyList: allowed.size === 0 };
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
      node.sources = { allowed: new AllowList("") };
      node.sourceError = rules.error;
      node.error(`Rapporto account: ${rules.error}`);
    } else {
      node.sources = rules.rules;
      if (rules.emptyList) {
        // Until issue #14 an empty list accepted every address; now that takes a `*`.
        node.sourceError = RED._("rapporto-account.status.no-sources");
        node.warn(RED._("rapporto-account.warn.no-sources"));
      }
    }
    node.login = () => ({ serviceId: (config.serviceId ?? "").trim(), pass: resolveEnvReference(node.credentials?.pass) });
    node.signatureKey = resolveEnvReference(node.credentials?.hashKey) || undefined;
    observeRapportoAccount(RED, node);

    // Opened and asked one question at start: a store that cannot be used (an unknown scheme, a
    // Redis that does not answer) is reported at once, in red by the nodes that need it, rather
    // than when the first message has nowhere to be recorded.
    const storePromise: Promise<CorrelationStore> = openCheckedStore(RED, config.storeUrl, "rapporto-account", (err) => node.warn(`correlation store: ${logLine(err.message)}`));
    storePromise.catch((err: Error) => {
      node.storeError = `correlation store unusable: ${logLine(err.message, 200)}`;
      node.error(`Rapporto account: ${node.storeError}; no message is sent or matched until it is fixed and the flow deployed again`);
    });
    node.store = () => storePromise;
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
      Promise.allSettled([storePromise.then((s) => s.close(), () => undefined)]).then(() => {
        clearTimeout(limit);
        done();
      });
    });
  }

  RED.nodes.registerType<RapportoAccountNode, RapportoAccountDef, object, RapportoAccountCredentials>("rapporto-account", RapportoAccount, {
    credentials: { pass: { type: "password" }, hashKey: { type: "password" } },
  });
}
