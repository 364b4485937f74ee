/**
 * openEndpoint on an Express layout like Node-RED's own (red.js): a root app with the editor's
 * app and httpNode mounted at "/". A request for our route is answered by the capture step
 * only when nothing but Node-RED's apps would act on it first; anything that would act on it
 * (httpNodeMiddleware, httpNodeAuth, an embedding app's middleware, middleware another module
 * put on httpNode) still runs, because then the request takes Express's way.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import request from "supertest";
import type { NodeAPI } from "node-red";
import { openEndpoint, type Endpoint } from "../../../nodes/shared/endpoint";
import { textReply } from "../../../lib/http/reply";

interface Layout {
  root: Express;
  admin: Express;
  httpNode: Express;
  /** Requests the editor's app saw (its CORS step marks each one). */
  adminSeen: string[];
}

/** root ← editor app ← runtime admin app, root ← httpNode: what red.js builds. */
function layout(beforeNode?: (root: Express) => void): Layout {
  const root = express();
  const editor = express();
  const admin = express();
  const httpNode = express();
  const adminSeen: string[] = [];
  editor.use((req: Request, res: Response, next: NextFunction) => {
    adminSeen.push(req.url);
    res.setHeader("access-control-allow-origin", "*");
    next();
  });
  editor.use(admin);
  root.use("/", editor);
  beforeNode?.(root);
  root.use("/", httpNode);
  return { root, admin, httpNode, adminSeen };
}

function fakeRed(l: Layout, settings: Record<string, unknown> = {}): NodeAPI {
  return { httpNode: l.httpNode, httpAdmin: l.admin, settings: { httpNodeRoot: "/", ...settings } } as unknown as NodeAPI;
}

const opened: Endpoint[] = [];
afterEach(() => {
  for (const e of opened.splice(0)) e.close();
});

function open(RED: NodeAPI, limitBytes = 1000): Array<{ query: string; body: string; method: string }> {
  const calls: Array<{ query: string; body: string; method: string }> = [];
  const endpoint = openEndpoint(RED, {
    path: "/rapidpro/send",
    methods: ["get", "post"],
    limitBytes,
    onError: () => undefined,
    onRequest(call, respond) {
      calls.push({ query: call.query, body: call.body, method: call.method });
      respond({ ...textReply(200, `got ${call.body}`), headers: { "x-ours": "1" } });
    },
  });
  assert.ok(!("error" in endpoint), "endpoint opened");
  opened.push(endpoint as Endpoint);
  return calls;
}

test("default layout: the capture step answers; the editor's middleware does not run", async () => {
  const l = layout();
  const calls = open(fakeRed(l));
  const res = await request(l.root).post("/rapidpro/send?x=1").set("content-type", "text/plain").send("hello");
  assert.equal(res.status, 200);
  assert.equal(res.text, "got hello");
  assert.equal(res.headers["x-ours"], "1");
  assert.equal(res.headers["content-length"], String("got hello".length));
  assert.deepEqual(calls, [{ query: "x=1", body: "hello", method: "POST" }]);
  assert.deepEqual(l.adminSeen, []);
  // Other paths still go through the editor's app as before.
  await request(l.root).get("/settings");
  assert.deepEqual(l.adminSeen, ["/settings"]);
});

test("the body limit still answers 413 before the handler", async () => {
  const l = layout();
  const calls = open(fakeRed(l), 10);
  const res = await request(l.root).post("/rapidpro/send").set("content-type", "text/plain").send("x".repeat(50));
  assert.equal(res.status, 413);
  assert.deepEqual(calls, []);
});

test("httpNodeMiddleware runs before the handler (and can refuse)", async () => {
  const l = layout();
  const seen: string[] = [];
  const middleware = (req: Request, res: Response, next: NextFunction) => {
    seen.push(req.method);
    if (req.headers["x-deny"]) res.status(403).end();
    else next();
  };
  const calls = open(fakeRed(l, { httpNodeMiddleware: middleware }));
  assert.equal((await request(l.root).post("/rapidpro/send").send("a")).status, 200);
  assert.equal((await request(l.root).post("/rapidpro/send").set("x-deny", "1").send("b")).status, 403);
  assert.deepEqual(seen, ["POST", "POST"]);
  assert.deepEqual(calls.map((c) => c.body), ["a"]);
});

test("httpNodeAuth (set in settings, installed by red.js on the root app) is not skipped", async () => {
  const auth = (req: Request, res: Response, next: NextFunction) => (req.headers["x-user"] ? next() : res.status(401).end());
  const l = layout((root) => root.use("/", auth));
  const calls = open(fakeRed(l, { httpNodeAuth: { user: "u", pass: "p" } }));
  assert.equal((await request(l.root).post("/rapidpro/send").send("a")).status, 401);
  assert.equal((await request(l.root).post("/rapidpro/send").set("x-user", "u").send("b")).status, 200);
  assert.deepEqual(calls.map((c) => c.body), ["b"]);
});

test("an embedding app's own middleware before httpNode still runs", async () => {
  const auth = (req: Request, res: Response, next: NextFunction) => (req.headers["x-user"] ? next() : res.status(401).end());
  const l = layout((root) => root.use(auth));
  const calls = open(fakeRed(l));
  assert.equal((await request(l.root).post("/rapidpro/send").send("a")).status, 401);
  assert.equal((await request(l.root).post("/rapidpro/send").set("x-user", "u").send("b")).status, 200);
  assert.deepEqual(calls.map((c) => c.body), ["b"]);
});

test("an app mounted by the embedding application before httpNode still runs", async () => {
  const guard = express();
  guard.use((req: Request, res: Response, next: NextFunction) => (req.headers["x-user"] ? next() : res.status(401).end()));
  const l = layout((root) => root.use("/", guard));
  open(fakeRed(l));
  assert.equal((await request(l.root).post("/rapidpro/send").send("a")).status, 401);
  assert.equal((await request(l.root).post("/rapidpro/send").set("x-user", "u").send("b")).status, 200);
});

test("middleware another module put on httpNode still runs", async () => {
  const l = layout();
  const calls = open(fakeRed(l));
  l.httpNode.use((req: Request, res: Response, next: NextFunction) => (req.headers["x-user"] ? next() : res.status(401).end()));
  // httpNode.use appends after our route: move it to the top, as such modules do.
  const stack = (l.httpNode as unknown as { _router: { stack: unknown[] } })._router.stack;
  stack.splice(2, 0, stack.pop());
  assert.equal((await request(l.root).post("/rapidpro/send").send("a")).status, 401);
  assert.equal((await request(l.root).post("/rapidpro/send").set("x-user", "u").send("b")).status, 200);
  assert.deepEqual(calls.map((c) => c.body), ["b"]);
});

test("httpNode as the root app (node-red-node-test-helper): served, GET query kept", async () => {
  const httpNode = express();
  const calls = open({ httpNode, httpAdmin: express(), settings: { httpNodeRoot: "/" } } as unknown as NodeAPI);
  const res = await request(httpNode).get("/rapidpro/send?to=%2B250&text=hi");
  assert.equal(res.status, 200);
  assert.deepEqual(calls, [{ query: "to=%2B250&text=hi", body: "", method: "GET" }]);
});
