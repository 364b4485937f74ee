/**
 * The health endpoint for load balancers (lib/health/readiness.ts decides; docs/design.md
 * decision 35): GET on `RED.httpNode` at `rapidproHealthPath` from settings.js (default
 * `/rapidpro/health`; `false` turns it off) answers 200 with a small JSON when this instance
 * can take traffic and 503 when not. The config nodes that send (smpp-bind,
 * rapporto-account) register here; the first one opens the route, the last one to close
 * removes it, so between deploys it answers 404 and a load balancer counts that as down too.
 */
import type { NodeAPI } from "node-red";
import { jsonReply } from "../../lib/http/reply";
import { Readiness, type Sender } from "../../lib/health/readiness";
import { openResources } from "../../lib/store";
import { openEndpoint, type Endpoint } from "./endpoint";

export const DEFAULT_HEALTH_PATH = "/rapidpro/health";

let readiness: Readiness | undefined;
let endpoint: Endpoint | undefined;

/** The configured path, or undefined when the endpoint is turned off. */
export function healthPath(RED: NodeAPI): string | undefined {
  const setting = (RED.settings as unknown as Record<string, unknown>).rapidproHealthPath;
  if (setting === false) return undefined;
  return typeof setting === "string" && setting.trim() !== "" ? setting.trim() : DEFAULT_HEALTH_PATH;
}

/**
 * Counts a sender in this instance's readiness; returns the function that takes it out again
 * (call it from the node's `close`). `warn` hears why the endpoint could not be opened.
 */
export function registerHealth(RED: NodeAPI, sender: Sender, warn: (text: string) => void): () => void {
  readiness ??= new Readiness(openResources);
  const remove = readiness.add(sender);
  const path = healthPath(RED);
  if (!endpoint && path) {
    const opened = openEndpoint(RED, {
      path,
      methods: ["get"],
      limitBytes: 0,
      onRequest: (_call, respond) => {
        const current = readiness;
        if (!current) return respond(jsonReply(503, { ready: false, reasons: ["shutting down"] }));
        current.report().then(
          (report) => respond({ ...jsonReply(report.ready ? 200 : 503, report), headers: { "cache-control": "no-store" } }),
          (err: Error) => respond(jsonReply(503, { ready: false, reasons: [`health check failed: ${err.message}`] })),
        );
      },
      onError: (err) => warn(`health endpoint: ${err.message}`),
    });
    if ("error" in opened) warn(`health endpoint ${path} not opened: ${opened.error}`);
    else endpoint = opened;
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    remove();
    if (readiness && readiness.size === 0) {
      endpoint?.close();
      endpoint = undefined;
      readiness = undefined;
    }
  };
}
