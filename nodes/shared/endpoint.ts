/**
 * HTTP endpoints on Node-RED's own server (`RED.httpNode`) for the nodes that receive calls:
 * courier's MT requests, Rapporto's MO and DLR pushes.
 *
 * Each endpoint reads its body itself, as raw text with its own size limit. Node-RED adds no
 * body parser to `httpNode`, and with the default `httpAdminRoot: "/"` the admin app's parsers
 * would otherwise consume JSON and urlencoded bodies first (node-red-conventions.md §1.10), so
 * a small capture step sits at the top of the root app, as core's `http in` node does for raw
 * bodies. The route honours `httpNodeMiddleware` and is removed when the node closes.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { NodeAPI } from "node-red";
import type { Express, NextFunction, Request, Response } from "express";
import { jsonReply, type HttpReply } from "../../lib/http/reply";

export interface IncomingCall {
  method: string;
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  /** Raw body as UTF-8 text; "" when there is none. */
  body: string;
  /** The TCP peer; proxies are the caller's business (see lib/net). */
  remoteAddress: string;
}

export interface EndpointOptions {
  path: string;
  methods: Array<"get" | "post" | "put">;
  /** Largest body accepted, bytes; larger ones get 413 before the handler sees them. */
  limitBytes: number;
  /** Called once per request; `respond` may be called later, exactly once. */
  onRequest: (call: IncomingCall, respond: (reply: HttpReply) => void) => void;
  /** Where a handler's unexpected exception is reported. */
  onError: (err: Error) => void;
}

export interface Endpoint {
  close(): void;
}

/** What the capture step leaves on the request. `_body` tells body-parser it is already read. */
interface CapturedFields {
  _body?: boolean;
  rawBodyText?: string;
}
type CapturedRequest = Request & CapturedFields;

/** Route keys ("POST /rapidpro/send") in use, with their body limit. */
const routes = new Map<string, number>();
const capturingApps = new WeakSet<object>();

export function normalisePath(path: string): string {
  const withSlash = path.startsWith("/") ? path : `/${path}`;
  return withSlash.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1");
}

/** Opens the endpoint, or explains why it cannot (path already taken, HTTP nodes disabled). */
export function openEndpoint(RED: NodeAPI, options: EndpointOptions): Endpoint | { error: string } {
  if (!RED.httpNode || RED.settings.httpNodeRoot === false) {
    return { error: "HTTP endpoints are disabled (httpNodeRoot is false in settings.js)" };
  }
  const app = RED.httpNode as unknown as Express;
  const path = normalisePath(options.path);
  const prefix = (app as unknown as { parent?: unknown }).parent ? String(RED.settings.httpNodeRoot ?? "/") : "/";
  const keys = options.methods.map((m) => routeKey(m, normalisePath(`${prefix}/${path}`)));
  const taken = keys.find((k) => routes.has(k));
  if (taken) return { error: `${taken} is already served by another node` };
  for (const key of keys) routes.set(key, options.limitBytes);
  installCapture(app);

  const settingsMiddleware = RED.settings.httpNodeMiddleware as unknown;
  const middleware =
    typeof settingsMiddleware === "function" || Array.isArray(settingsMiddleware)
      ? settingsMiddleware
      : (_req: Request, _res: Response, next: NextFunction) => next();

  const handler = (req: CapturedRequest, res: Response) => {
    const respond = once((reply: HttpReply) => {
      if (res.headersSent) return;
      res.status(reply.status);
      res.set("content-type", reply.contentType);
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.set(name, value);
      res.send(reply.body);
    });
    try {
      const queryAt = req.originalUrl.indexOf("?");
      options.onRequest(
        {
          method: req.method,
          path,
          query: queryAt < 0 ? "" : req.originalUrl.slice(queryAt + 1),
          headers: req.headers,
          body: req.rawBodyText ?? "",
          remoteAddress: req.socket.remoteAddress ?? "",
        },
        respond,
      );
    } catch (err) {
      options.onError(err as Error);
      respond(jsonReply(500, { message: "Error", error: "internal error; retry later" }));
    }
  };
  for (const method of options.methods) app[method](path, middleware as never, handler as never);

  return {
    close() {
      for (const key of keys) routes.delete(key);
      const stack = (app as unknown as { _router?: { stack: RouteLayer[] } })._router?.stack ?? [];
      for (let i = stack.length - 1; i >= 0; i--) {
        const route = stack[i].route;
        if (route && route.path === path && route.stack.some((layer) => layer.handle === handler)) stack.splice(i, 1);
      }
    },
  };
}

interface RouteLayer {
  route?: { path: string; stack: Array<{ handle: unknown }> };
  handle: unknown;
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

function installCapture(app: Express): void {
  let root = app as unknown as { parent?: unknown; _router?: { stack: RouteLayer[] }; use: Express["use"] };
  while (root.parent) root = root.parent as typeof root;
  if (capturingApps.has(root)) return;
  capturingApps.add(root);
  root.use(captureBody);
  const stack = root._router?.stack ?? [];
  const at = stack.findIndex((layer) => layer.handle === captureBody);
  if (at > 0) stack.unshift(stack.splice(at, 1)[0]);
}

/**
 * Reads the body of requests for our routes before any other parser can. It runs first in
 * the root app, before Express has decorated req and res, so it uses Node's own API only.
 */
function captureBody(req: IncomingMessage & CapturedFields, res: ServerResponse, next: () => void): void {
  const limit = routes.get(routeKey(req.method ?? "", normalisePath((req.url ?? "/").split("?")[0])));
  if (limit === undefined) return next();
  const refuse = (error: string) => {
    res.writeHead(413, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ message: "Error", error }));
  };
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    refuse(`body of ${declared} bytes is over the ${limit} byte limit`);
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  req.on("data", (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > limit) {
      finished = true;
      refuse(`body is over the ${limit} byte limit`);
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (finished) return;
    finished = true;
    req.rawBodyText = Buffer.concat(chunks).toString("utf8");
    req._body = true;
    next();
  });
  req.on("error", () => {
    finished = true;
  });
}

function once<T>(fn: (arg: T) => void): (arg: T) => void {
  let called = false;
  return (arg: T) => {
    if (called) return;
    called = true;
    fn(arg);
  };
}
