/**
 * HTTP endpoints on Node-RED's own server (`RED.httpNode`) for the nodes that receive calls:
 * courier's MT requests, Rapporto's MO and DLR pushes.
 *
 * Each endpoint reads its body itself, as raw text with its own size limit. Node-RED adds no
 * body parser to `httpNode`, and with the default `httpAdminRoot: "/"` the admin app's parsers
 * would otherwise consume JSON and urlencoded bodies first (node-red-conventions.md §1.10), so
 * a small capture step sits at the top of the root app, as core's `http in` node does for raw
 * bodies. The route honours `httpNodeMiddleware` and is removed when the node closes.
 *
 * Fast path: with Node-RED's default `httpAdminRoot: "/"`, every request for one of our routes
 * first walks the whole editor and admin API app (CORS, body parsers, a static file lookup that
 * stats the disk, dozens of routes) before it reaches `httpNode`: in the benchmark that was the
 * largest single cost of an MT. None of that applies to a node route, so when the capture step
 * can prove that nothing else would act on the request before our route (see `directRoute`),
 * it answers the request itself once the body is read. Whenever it cannot prove it (some
 * `httpNodeMiddleware`, `httpNodeAuth`, a middleware another module added, an embedding app's
 * own layers), the request takes Express's way as before.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { NodeAPI } from "node-red";
import type { Express, NextFunction, Request, Response } from "express";
import { jsonReply, type HttpReply } from "../../lib/http/reply";
import { bodyUtf8Refusal, formUtf8Refusal } from "../../lib/http/utf8";

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
  /**
   * Whether the handler percent-decodes a body of this Content-Type as a form, so that its
   * escapes must decode to UTF-8 too. Default: the type is application/x-www-form-urlencoded.
   */
  decodesFormBody?: (contentType: string | undefined) => boolean;
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

/** One of our routes, as the capture step sees it. */
interface OpenRoute {
  /** Largest body accepted, bytes. */
  limit: number;
  decodesFormBody: (contentType: string | undefined) => boolean;
  /** The app the route is on (RED.httpNode) and the route's own path in it. */
  app: ExpressApp;
  path: string;
  /** False when settings put something in front of node routes (middleware, auth). */
  settingsAllowDirect: boolean;
  /** The root app (where the capture step sits) and Node-RED's apps mounted on it. */
  root: ExpressApp;
  knownApps: ExpressApp[];
  /** The route's handler (for finding its layer) and what serves a request. */
  handler: unknown;
  serve: (req: IncomingMessage, res: ServerResponse, url: string, body: string) => void;
}

/** Route keys ("POST /rapidpro/send") in use. */
const routes = new Map<string, OpenRoute>();
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
  const root = installCapture(app);

  const settingsMiddleware = RED.settings.httpNodeMiddleware as unknown;
  const hasMiddleware = typeof settingsMiddleware === "function" || Array.isArray(settingsMiddleware);
  const middleware = hasMiddleware ? settingsMiddleware : (_req: Request, _res: Response, next: NextFunction) => next();

  /** Works on Node's own req/res only, so the fast path and Express's path share it. */
  const serve = (req: IncomingMessage, res: ServerResponse, url: string, body: string) => {
    const respond = once((reply: HttpReply) => writeReply(res, reply));
    try {
      const queryAt = url.indexOf("?");
      options.onRequest(
        {
          method: req.method ?? "GET",
          path,
          query: queryAt < 0 ? "" : url.slice(queryAt + 1),
          headers: req.headers,
          body,
          remoteAddress: req.socket.remoteAddress ?? "",
        },
        respond,
      );
    } catch (err) {
      options.onError(err as Error);
      respond(jsonReply(500, { message: "Error", error: "internal error; retry later" }));
    }
  };
  const handler = (req: CapturedRequest, res: Response) => serve(req, res, req.originalUrl, req.rawBodyText ?? "");
  for (const method of options.methods) app[method](path, middleware as never, handler as never);

  const settings = RED.settings as unknown as Record<string, unknown>;
  const route: OpenRoute = {
    limit: options.limitBytes,
    decodesFormBody: options.decodesFormBody ?? isFormType,
    app: app as unknown as ExpressApp,
    path,
    // Auth and middleware for node routes run in Express's chain, so their presence means Express's way.
    settingsAllowDirect: !hasMiddleware && !settings.httpNodeAuth && !settings.httpAuth && !settings.httpAdminMiddleware,
    root,
    knownApps: [RED.httpNode, RED.httpAdmin].map((a) => mountedOn(root, a as unknown as ExpressApp)).filter((a): a is ExpressApp => a !== undefined),
    handler,
    serve,
  };
  for (const key of keys) routes.set(key, route);

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
  route?: { path: string; stack: Array<{ handle: unknown }>; _handles_method?: (method: string) => boolean };
  handle: unknown;
  name?: string;
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
}

interface ExpressApp {
  parent?: ExpressApp;
  mountpath?: string | string[];
  _router?: { stack: RouteLayer[] };
}

/** Writes a reply with Node's own API: no ETag hashing or header juggling per request. */
function writeReply(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent || res.writableEnded) return;
  const headers: Record<string, string | number> = {
    "content-type": reply.contentType,
    "content-length": Buffer.byteLength(reply.body),
    ...reply.headers,
  };
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/** `app`, or the ancestor of it that is mounted directly on `root`; undefined if none is. */
function mountedOn(root: ExpressApp, app: ExpressApp | undefined): ExpressApp | undefined {
  for (let a = app; a; a = a.parent) {
    if (a === root || a.parent === root) return a;
  }
  return undefined;
}

/**
 * Layers that cannot act on a request for our routes: Express's own decorating ones, error
 * handlers (4 parameters; they run only after an error), and core `http in`'s raw-body step,
 * which reads only bodies of its own routes' paths (and ours is first anyway). Matched by
 * function name: if a name ever changes, the request just takes Express's way.
 */
const BENIGN_LAYERS = new Set(["query", "expressInit", "rawBodyCapture"]);

function isBenign(layer: RouteLayer): boolean {
  if (layer.handle === captureBody || BENIGN_LAYERS.has(layer.name ?? "")) return true;
  return typeof layer.handle === "function" && layer.handle.length > 3;
}

function layerMatches(layer: RouteLayer, path: string): boolean {
  const re = layer.regexp;
  if (!re || re.fast_slash || re.fast_star) return true;
  re.lastIndex = 0;
  return re.test(path);
}

function mountCovers(app: ExpressApp, path: string): boolean {
  const mountpath = app.mountpath ?? "/";
  if (!Array.isArray(mountpath)) return pathUnder(path, mountpath);
  for (const m of mountpath) if (pathUnder(path, m)) return true;
  return false;
}

function pathUnder(path: string, mount: string): boolean {
  if (mount === "/" || path === mount) return true;
  return path.startsWith(mount) && (mount.endsWith("/") || path.charCodeAt(mount.length) === 0x2f);
}

/**
 * True when Express would run nothing but its own decorating layers, the mounted Node-RED
 * apps and then this route for the request: so answering it from the capture step skips work
 * and changes nothing. Checked on every request (the stacks change on redeploy); it is a walk
 * over a few layers, far cheaper than the routing it replaces.
 *
 * - root app: every layer matching the path is benign or one of Node-RED's own mounted apps
 *   (the editor's, whose middleware is for admin routes, and httpNode), and there is no other
 *   mounted app (an embedding application's);
 * - httpNode: before our route, every layer matching the path is benign, and no other route
 *   takes the same path and method first.
 */
function directRoute(root: ExpressApp, route: OpenRoute, fullPath: string, method: string): boolean {
  if (!route.settingsAllowDirect) return false;
  const app = route.app;
  if (app !== root) {
    if (app.parent !== root) return false;
    // Counted in a loop, not with filter(): this runs for every request.
    let expected = 0;
    for (const known of route.knownApps) if (mountCovers(known, fullPath)) expected++;
    let mounted = 0;
    for (const layer of root._router?.stack ?? []) {
      if (!layerMatches(layer, fullPath) || isBenign(layer)) continue;
      if (layer.name !== "mounted_app") {
        if (mounted < expected) return false; // something else runs before httpNode
        continue;
      }
      mounted += 1;
    }
    if (mounted !== expected) return false;
  }
  // Inside httpNode the path is the route's own (Express strips httpNodeRoot on the way in).
  for (const layer of app._router?.stack ?? []) {
    const r = layer.route;
    if (r) {
      if (r.stack.some((l) => l.handle === route.handler)) return r.path === route.path;
      if (layerMatches(layer, route.path) && r._handles_method?.(method) !== false) return false;
    } else if (layerMatches(layer, route.path) && !isBenign(layer)) {
      return false;
    }
  }
  return false;
}

function isFormType(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "application/x-www-form-urlencoded";
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** Puts the capture step at the top of the root app (once); returns that root app. */
function installCapture(app: Express): ExpressApp {
  let root = app as unknown as { parent?: unknown; _router?: { stack: RouteLayer[] }; use: Express["use"] };
  while (root.parent) root = root.parent as typeof root;
  if (capturingApps.has(root)) return root as ExpressApp;
  capturingApps.add(root);
  root.use(captureBody);
  const stack = root._router?.stack ?? [];
  const at = stack.findIndex((layer) => layer.handle === captureBody);
  if (at > 0) stack.unshift(stack.splice(at, 1)[0]);
  return root as ExpressApp;
}

/**
 * Reads the body of requests for our routes before any other parser can. It runs first in
 * the root app, before Express has decorated req and res, so it uses Node's own API only.
 * Then it serves the request itself when `directRoute` allows, or hands it on to Express.
 */
function captureBody(req: IncomingMessage & CapturedFields, res: ServerResponse, next: () => void): void {
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const fullPath = normalisePath(queryAt < 0 ? url : url.slice(0, queryAt));
  const method = req.method ?? "";
  const route = routes.get(routeKey(method, fullPath));
  if (route === undefined) return next();
  const limit = route.limit;
  const refuse = (error: string, status = 413) => {
    res.writeHead(status, { "content-type": "application/json", ...(status === 413 ? { connection: "close" } : {}) });
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
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const body = bytes.toString("utf8");
    const invalid =
      bodyUtf8Refusal(bytes) ??
      (queryAt < 0 ? undefined : formUtf8Refusal(url.slice(queryAt + 1), "query")) ??
      (body.length > 0 && route.decodesFormBody(req.headers["content-type"]) ? formUtf8Refusal(body, "form body") : undefined);
    if (invalid) {
      // Decoding would send U+FFFD to a phone in place of what the peer meant (issue #14).
      refuse(invalid, 400);
      return;
    }
    if (directRoute(route.root, route, fullPath, method)) {
      route.serve(req, res, url, body);
      return;
    }
    req.rawBodyText = body;
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
