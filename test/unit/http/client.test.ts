/**
 * lib/http/client.ts against real servers on 127.0.0.1: what it resolves with, and how each
 * transport failure is reported, above all whether the request certainly never left (notSent),
 * which decides whether sending it again is safe (courier calls, Rapporto MT).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { HttpClient, HttpTransportError } from "../../../lib/http/client";

const servers: net.Server[] = [];
const client = new HttpClient({ maxSockets: 4 });
after(async () => {
  client.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw TCP peer that does `onRequest` to the socket once the request's first bytes arrive. */
function rawPeer(onRequest: (socket: net.Socket) => void): Promise<string> {
  return listen(net.createServer((socket) => socket.once("data", () => onRequest(socket))));
}

/** What a request came to: the reply, or the transport error's code, notSent and message. */
async function outcome(url: string, options: { timeoutMs?: number; maxResponseBytes?: number } = {}) {
  try {
    const res = await client.request({ url, method: "POST", headers: { "content-type": "text/plain" }, body: "hello", ...options });
    return { status: res.status, body: res.body };
  } catch (err) {
    assert.ok(err instanceof HttpTransportError, `rejected with ${String(err)}`);
    return { code: err.code, notSent: err.notSent, message: err.message };
  }
}

describe("HttpClient: replies", () => {
  test("resolves with status, headers and body, and sends the body with its length", async () => {
    let received = "";
    const url = await listen(
      http.createServer((req, res) => {
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (received += chunk));
        req.on("end", () => {
          res.writeHead(201, { "content-type": "application/json", "x-seen": String(req.headers["content-length"]) });
          res.end('{"ok":true}');
        });
      }),
    );
    const res = await client.request({ url: `${url}/c`, method: "POST", headers: { "content-type": "text/plain" }, body: "héllo" });
    assert.equal(res.status, 201);
    assert.equal(res.body, '{"ok":true}');
    assert.equal(res.headers["x-seen"], String(Buffer.byteLength("héllo")));
    assert.equal(received, "héllo");
  });

  test("an error status resolves: the caller decides what 4xx and 5xx mean", async () => {
    const url = await listen(http.createServer((_req, res) => res.writeHead(503).end("busy")));
    assert.deepEqual(await outcome(url), { status: 503, body: "busy" });
  });

  test("connections are kept alive and reused, also after a server that closes each one", async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end("ok"));
    server.on("connection", () => connections++);
    const url = await listen(server);
    for (let i = 0; i < 5; i++) assert.equal((await outcome(url)).status, 200);
    assert.equal(connections, 1, "five requests one after another on one connection");

    const closing = await listen(http.createServer((_req, res) => res.writeHead(200, { connection: "close" }).end("bye")));
    for (let i = 0; i < 3; i++) assert.deepEqual(await outcome(closing), { status: 200, body: "bye" });
  });
});

describe("HttpClient: transport failures", () => {
  const cases: Array<{ name: string; peer: () => Promise<string>; options?: { timeoutMs?: number; maxResponseBytes?: number }; expected: { code: string; notSent: boolean; message: RegExp } }> = [
    {
      name: "connection refused: never sent, safe to send again",
      peer: async () => {
        const url = await listen(net.createServer());
        await new Promise((resolve) => servers.pop()!.close(resolve));
        return url;
      },
      expected: { code: "ECONNREFUSED", notSent: true, message: /request failed: ECONNREFUSED/ },
    },
    {
      name: "the peer closes the connection after reading the request: it may have acted on it",
      peer: () => rawPeer((socket) => socket.destroy()),
      expected: { code: "ECONNRESET", notSent: false, message: /request failed: ECONNRESET/ },
    },
    {
      name: "the peer vanishes in the middle of its reply",
      peer: () => rawPeer((socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")),
      expected: { code: "network", notSent: false, message: /reply broken off/ },
    },
    {
      name: "a reply that is not HTTP",
      peer: () => rawPeer((socket) => socket.write("garbage\r\n\r\n")),
      expected: { code: "HPE_INVALID_CONSTANT", notSent: false, message: /request failed: HPE_INVALID_CONSTANT/ },
    },
    {
      name: "no reply within the timeout",
      peer: () => rawPeer(() => undefined),
      options: { timeoutMs: 200 },
      expected: { code: "timeout", notSent: false, message: /^no reply within 200 ms$/ },
    },
    {
      name: "a reply over the size limit",
      peer: () => listen(http.createServer((_req, res) => res.end("x".repeat(5_000)))),
      options: { maxResponseBytes: 1_000 },
      expected: { code: "reply", notSent: false, message: /^reply larger than 1000 bytes$/ },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const got = await outcome(await c.peer(), c.options);
      assert.equal(got.code, c.expected.code);
      assert.equal(got.notSent, c.expected.notSent);
      assert.match(String(got.message), c.expected.message);
    });
  }

  test("a bad URL or scheme is refused before anything is sent, and the URL's password is never in the message", async () => {
    await assert.rejects(client.request({ url: "not a url" }), (err: HttpTransportError) => err.code === "url" && err.notSent && err.message === "invalid URL");
    await assert.rejects(client.request({ url: "ftp://user:s3cret@127.0.0.1/" }), (err: HttpTransportError) => err.code === "url" && !err.message.includes("s3cret"));
    const refused = await listen(net.createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await assert.rejects(
      client.request({ url: refused.replace("http://", "http://user:s3cret@") + "/?pass=s3cret" }),
      (err: HttpTransportError) => err.code === "ECONNREFUSED" && !err.message.includes("s3cret"),
    );
  });
});
