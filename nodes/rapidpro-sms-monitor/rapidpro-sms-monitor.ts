/**
 * rapidpro-sms-monitor (a Node-RED plugin): the admin routes behind the editor's sidebar tab
 * and Prometheus, all under `<httpAdminRoot>/rapidpro-sms/`, so adminAuth and its permissions
 * apply:
 *   GET metrics   Prometheus text (rapidpro-sms.read); with `rapidproSms.metricsOn: "node"` in
 *                 settings.js on httpNode instead (httpNodeAuth/httpNodeMiddleware guard it);
 *   GET status    every connection and channel with counters and sparkline points (JSON);
 *   GET trace     ?id=, ?smscId= or ?phone=: the life of a message, from the log kept with the
 *                 correlation store (lib/trace/log.ts); `unmask=1` shows numbers and needs
 *                 rapidpro-sms.write.
 */
import type { NodeAPI } from "node-red";
import type { NextFunction, Request, Response } from "express";
import { bridgeMetrics } from "../../lib/metrics/registry";
import { traceLog, type TraceQuery } from "../../lib/trace/log";
import { presentEvents } from "../../lib/trace/mask";
import { metricsEnabled } from "../shared/observe";

/** One sparkline point every 5 s (lib/metrics/history.ts keeps 60: five minutes). */
const SAMPLE_EVERY_MS = 5_000;
const MAX_QUERY_CHARS = 1024;

type Middleware = (req: Request, res: Response, next: NextFunction) => void;
interface PluginAPI {
  plugins: { registerPlugin(id: string, definition: object): void };
}

let sampler: NodeJS.Timeout | undefined;

export default function (RED: NodeAPI) {
  (RED as unknown as PluginAPI).plugins.registerPlugin("rapidpro-sms-monitor", {});
  const needs = (permission: string): Middleware => RED.auth.needsPermission(permission) as Middleware;
  // Off (`rapidproSms.metrics: false`): the nodes install no hooks (nodes/shared/observe.ts), so no series and no samples.
  const enabled = metricsEnabled(RED);
  const settings = (RED.settings as unknown as { rapidproSms?: { metricsOn?: string } }).rapidproSms;

  const metrics = (_req: Request, res: Response) => {
    bridgeMetrics.exposition().then(
      (text) => {
        // res.send would rewrite the content type's parameters; Prometheus reads them as given.
        res.setHeader("Content-Type", bridgeMetrics.contentType);
        res.end(text);
      },
      (err: Error) => res.status(500).json({ error: `metrics: ${err.message}` }),
    );
  };
  if (settings?.metricsOn === "node" && RED.httpNode) RED.httpNode.get("/rapidpro-sms/metrics", metrics);
  else RED.httpAdmin.get("/rapidpro-sms/metrics", needs("rapidpro-sms.read"), metrics);

  RED.httpAdmin.get("/rapidpro-sms/status", needs("rapidpro-sms.read"), (_req, res) => {
    bridgeMetrics.snapshot().then(
      (snapshot) => res.json({ enabled, ...snapshot }),
      (err: Error) => res.status(500).json({ error: `status: ${err.message}` }),
    );
  });

  RED.httpAdmin.get("/rapidpro-sms/trace", needs("rapidpro-sms.read"), (req, res) => {
    const query = traceQuery(req.query as Record<string, unknown>);
    if ("error" in query) {
      res.status(400).json({ error: query.error });
      return;
    }
    // From the log kept with the store (lib/trace/log.ts): every instance's events, and those before a restart.
    const answer = (unmask: boolean) =>
      traceLog.find(query.query).then(
        (events) => res.json({ query: query.query, unmasked: unmask, events: presentEvents(events, unmask) }),
        (err: Error) => res.status(503).json({ error: `trace: ${err.message}` }),
      );
    if (req.query.unmask === "1" || req.query.unmask === "true") needs("rapidpro-sms.write")(req, res, () => answer(true));
    else answer(false);
  });

  if (enabled && !sampler) {
    sampler = setInterval(() => bridgeMetrics.sample(), SAMPLE_EVERY_MS);
    sampler.unref();
  }
}

/** Exactly one of id, smscId, phone; each a single value of sane length. */
export function traceQuery(params: Record<string, unknown>): { query: TraceQuery } | { error: string } {
  const query: TraceQuery = {};
  for (const key of ["id", "smscId", "phone"] as const) {
    const value = params[key];
    if (value === undefined || value === "") continue;
    if (typeof value !== "string") return { error: `${key} must be given once` };
    if (value.length > MAX_QUERY_CHARS) return { error: `${key} is longer than ${MAX_QUERY_CHARS} characters` };
    query[key] = value.trim();
  }
  const given = Object.keys(query).length;
  if (given === 0) return { error: "give one of id, smscId or phone" };
  if (given > 1) return { error: "give only one of id, smscId or phone" };
  return { query };
}
