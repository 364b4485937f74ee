import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { ConnectionDownError, UcpConnection, type LogFn } from "../../../lib/ucp/connection";
import { LinkDownError } from "../../../lib/session/link-base";
import { FrameReader, encodeFrame, type Frame } from "../../../lib/ucp/frame";
import { loopback } from "../../helpers/loopback";
import { waitFor } from "../../helpers/wait";

/**
 * A UcpConnection on one end of a loopback socket, the other end written by hand. `side`
 * "accepted": the connection has the end the peer dialled, as on the receive port (§2.6).
 */
async function pair(options: Partial<{ window: number; responseTimeoutMs: number }> = {}, side: "dialled" | "accepted" = "dialled") {
  const ends = await loopback();
  const [socket, peer] = side === "dialled" ? [ends.dialled, ends.accepted] : [ends.accepted, ends.dialled];
  peer.on("error", () => undefined);
  const logs: string[] = [];
  const log: LogFn = (level, text) => logs.push(`${level}: ${text}`);
  const connection = new UcpConnection(socket, { window: 2, responseTimeoutMs: 2_000, keepAliveMs: 0, keepAliveAdc: "1", inactivityTimeoutMs: 0, ...options }, log, "test");
  let downReason: string | undefined;
  connection.onDown = (reason) => (downReason = reason);
  const received: Frame[] = [];
  const reader = new FrameReader();
  peer.on("data", (chunk) => {
    for (const d of reader.push(chunk)) if (d.ok) received.push(d.frame);
  });
  return {
    connection,
    peer,
    received,
    logs,
    down: () => downReason,
    async close() {
      connection.destroy("test over");
      await ends.close();
    },
  };
}

describe("UcpConnection", () => {
  test("§2.2 OT 31 from the SMSC ('Kannel also answers it from SMSC') gets `A//` with its TRN", async () => {
    const p = await pair();
    try {
      p.peer.write(encodeFrame({ trn: 42, direction: "O", ot: 31, fields: ["0234765439845", "0139"] }));
      await waitFor(() => p.received.length === 1, "the result");
      assert.deepEqual(p.received[0], { trn: 42, direction: "R", ot: 31, fields: ["A", ""] });
    } finally {
      await p.close();
    }
  });

  test("an operation we do not serve (OT 02, or OT 51 from the SMSC) is answered N/03", async () => {
    const p = await pair();
    try {
      p.peer.write(encodeFrame({ trn: 5, direction: "O", ot: 2, fields: ["a"] }));
      await waitFor(() => p.received.length === 1, "the result");
      assert.deepEqual(p.received[0], { trn: 5, direction: "R", ot: 2, fields: ["N", "03", ""] });
      assert.equal(p.down(), undefined);
    } finally {
      await p.close();
    }
  });

  test("the window refuses a third operation; a result frees its TRN; a result for no TRN in flight is ignored", async () => {
    const p = await pair();
    try {
      const results: string[] = [];
      const cb = (error: Error | undefined, frame?: Frame) => results.push(error ? error.message : `${frame?.trn}:${frame?.fields[0]}`);
      assert.equal(p.connection.request(31, ["1", "0539"], cb), true);
      assert.equal(p.connection.request(31, ["1", "0539"], cb), true);
      assert.equal(p.connection.request(31, ["1", "0539"], cb), false);
      assert.equal(p.connection.windowFull, true);
      p.peer.write(encodeFrame({ trn: 77, direction: "R", ot: 31, fields: ["A", ""] }));
      p.peer.write(encodeFrame({ trn: 1, direction: "R", ot: 31, fields: ["A", ""] }));
      await waitFor(() => results.length === 1, "one result");
      assert.deepEqual(results, ["1:A"]);
      assert.equal(p.connection.windowFull, false);
      assert.ok(p.logs.some((l) => /ignored result 31 with TRN 77/.test(l)));
    } finally {
      await p.close();
    }
  });

  test("a result for another OT than the one sent with that TRN ends the connection", async () => {
    const p = await pair();
    try {
      p.connection.request(31, ["1", "0539"], () => undefined);
      p.peer.write(encodeFrame({ trn: 0, direction: "R", ot: 60, fields: ["A", ""] }));
      await waitFor(() => p.down() !== undefined, "the end");
      assert.match(p.down() ?? "", /answered OT 31 \(TRN 0\) with a result for OT 60/);
    } finally {
      await p.close();
    }
  });

  test("everything in flight gets an error when the peer goes away mid-stream", async () => {
    const p = await pair();
    try {
      const errors: string[] = [];
      p.connection.request(31, ["1", "0539"], (e) => errors.push(e?.message ?? "ok"));
      p.peer.write(Buffer.from("\x0200/00019/R/3"));
      p.peer.destroy();
      await waitFor(() => errors.length === 1, "the error");
      assert.deepEqual(errors, ["connection closed by the peer"]);
    } finally {
      await p.close();
    }
  });

  test("on a socket the SMSC opened (receive port), a peer that goes away ends the connection once and hands each operation in flight back once", async () => {
    const p = await pair({ window: 3 }, "accepted");
    try {
      const errors: string[] = [];
      const downs: string[] = [];
      p.connection.onDown = (reason) => downs.push(reason);
      for (let i = 0; i < 3; i++) {
        p.connection.request(31, ["1", "0539"], (e) => errors.push(e instanceof ConnectionDownError && e instanceof LinkDownError ? e.message : `unexpected: ${e?.message ?? "a result"}`));
      }
      await waitFor(() => p.received.length === 3, "the three operations at the peer");
      assert.deepEqual(p.received.map((f) => f.trn), [0, 1, 2]);
      p.peer.destroy();
      await waitFor(() => downs.length === 1, "the end");
      p.connection.destroy("a second end");
      assert.deepEqual(errors, ["connection closed by the peer", "connection closed by the peer", "connection closed by the peer"]);
      assert.deepEqual(downs, ["connection closed by the peer"]);
      assert.equal(p.connection.up, false);
      assert.equal(p.connection.inFlight, 0);
      const late: string[] = [];
      assert.equal(p.connection.request(31, ["1", "0539"], (e) => late.push(e?.message ?? "a result")), true);
      assert.deepEqual(late, ["connection closed by the peer"]);
    } finally {
      await p.close();
    }
  });

  test("a login that throws while dialled ends the connection with the reason; open() rejects, nothing unhandled", { timeout: 10_000 }, async () => {
    const server = net.createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const connection = new UcpConnection(undefined, { window: 2, responseTimeoutMs: 2_000, keepAliveMs: 0, keepAliveAdc: "1", inactivityTimeoutMs: 0 }, () => undefined, "test");
    const downs: string[] = [];
    connection.onDown = (reason) => downs.push(reason);
    try {
      const port = (server.address() as net.AddressInfo).port;
      await assert.rejects(connection.open({ host: "127.0.0.1", port, connectTimeoutMs: 2_000 }, () => Promise.reject(new Error("login broke"))), /internal error: login broke/);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(downs, ["internal error: login broke"]);
      assert.deepEqual(unhandled, []);
    } finally {
      process.removeListener("unhandledRejection", onUnhandled);
      connection.destroy("test over");
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
