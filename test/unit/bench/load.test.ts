/**
 * The load generator reads the bridge's answers with its own small parser (bench/load.ts);
 * a misread answer would count a failure as a success. Checked against Node's own HTTP server.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseResponse, runMtLoad } from "../../../bench/load";

describe("parseResponse", () => {
  const cases: Array<{ name: string; bytes: string; want: ReturnType<typeof parseResponse> }> = [
    { name: "a whole answer", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", want: { status: 200, length: 40, close: false } },
    { name: "two answers: the first", bytes: "HTTP/1.1 400 Bad\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n", want: { status: 400, length: 39, close: false } },
    { name: "closing", bytes: "HTTP/1.1 503 X\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", want: { status: 503, length: 56, close: true } },
    { name: "head not complete", bytes: "HTTP/1.1 200 OK\r\nContent-Len", want: undefined },
    { name: "body not complete", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", want: undefined },
    { name: "not HTTP", bytes: "SSH-2.0-x\r\n\r\n", want: 'not an HTTP response: "SSH-2.0-x"' },
    { name: "chunked", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", want: { status: 200, length: 59, close: false } },
    { name: "chunked, last chunk not yet here", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", want: undefined },
    { name: "chunked, size not hex", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", want: "malformed chunked body" },
    { name: "no length", bytes: "HTTP/1.1 200 OK\r\n\r\n", want: "response without a Content-Length" },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(parseResponse(Buffer.from(c.bytes, "latin1")), c.want));
  }
});

describe("runMtLoad against Node's HTTP server", () => {
  test("counts 200s as answered and anything else as an error by status, over few connections", async () => {
    let served = 0;
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push(body);
        served++;
        // Every fifth answer is a refusal; every seventh closes the connection after it; every
        // other one is chunked (a head written before the body), as Express may answer.
        res.writeHead(served % 5 === 0 ? 503 : 200, served % 7 === 0 ? { connection: "close" } : served % 2 === 0 ? { "content-length": 8 } : {});
        res.end("Accepted");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runMtLoad({
        url: `http://127.0.0.1:${port}/rapidpro/send`,
        authorization: "Token secret",
        channelUuid: "ch-1",
        count: 100,
        connections: 3,
        deadline: Date.now() + 10_000,
      });
      assert.equal(result.sent, 100);
      assert.equal(served, 100);
      assert.equal(result.ok.count, 80);
      assert.deepEqual(result.errors, { "http 503": 20 });
      assert.ok(bodies.every((b) => b.includes("ch-1")), "every request carries its body");
    } finally {
      server.close();
    }
  });
});
