import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { AllowList } from "../../../lib/net/allowlist";
import { DlrIntake, type DlrIntakeEvents } from "../../../lib/rapporto/dlr-intake";
import type { PollOptions } from "../../../lib/rapporto/poll";
import { DlrReceiver } from "../../../lib/rapporto/receiver";
import { MemoryStore } from "../../../lib/store/memory";

/** A poll endpoint answering `status=<code>` per transactionId, counting the requests. */
async function pollServer(codes: Record<string, string>) {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const id = new URL(req.url ?? "/", "http://h").searchParams.get("id") ?? "";
    asked.push(id);
    res.end(codes[id] ? `status=${codes[id]}` : "pending");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const options: PollOptions = {
    urlTemplate: `http://127.0.0.1:${(server.address() as AddressInfo).port}/s?id={transactionId}`,
    statusPattern: "status=(?<status>\\d+)",
    serviceId: "svc",
    pass: "secret",
    intervalMs: 60_000,
    maxOutstanding: 10,
    maxAgeMs: 60_000,
  };
  return { asked, options, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function intakeWith(store: MemoryStore | undefined, poll: PollOptions | undefined) {
  const handled: string[] = [];
  const problems: string[] = [];
  const events: DlrIntakeEvents = {
    handled: (kind) => handled.push(kind),
    pollExpired: (id, why) => problems.push(`${id}: ${why}`),
    pollError: (id, reason) => problems.push(`${id}: ${reason}`),
    pollUnusable: (reason) => problems.push(reason),
  };
  const receiver = store && new DlrReceiver({ maxTries: 1, allowed: new AllowList("*") }, store, { status: async () => ({ ok: true }), unknown: () => undefined });
  const intake = new DlrIntake(Promise.resolve(receiver), poll, events);
  return { intake, handled, problems };
}

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("DlrIntake: pushed and polled statuses of one rapporto-dlr", () => {
  test("store unusable: \"400 … or 500 make the provider retry\" (http_status.rst), so 500", async () => {
    const { intake } = intakeWith(undefined, undefined);
    const answer = await intake.push({ peer: "127.0.0.1", params: { transactionId: "1", status: "2" } });
    assert.deepEqual([answer.status, answer.body], [500, "temporary failure: correlation store unusable"]);
  });

  test("a pushed report ends the polling of its id; an id with no push is still polled", async () => {
    const store = new MemoryStore();
    await store.put("rp-1", ["100"]);
    const poll = await pollServer({});
    cleanups.push(poll.close);
    const { intake, handled } = intakeWith(store, poll.options);
    cleanups.push(() => intake.close());
    intake.accepted("100");
    intake.accepted("200");
    const answer = await intake.push({ peer: "127.0.0.1", params: { transactionId: "100", status: "2" } });
    assert.equal(answer.status, 200);
    assert.deepEqual(handled, ["report"]);
    await (intake as unknown as { poller: { pollOnce(): Promise<void> } }).poller.pollOnce();
    assert.deepEqual(poll.asked, ["200"]);
  });

  test("a polled status stops the polling once reported, or once its id is unknown for good; not before", async () => {
    const store = new MemoryStore();
    await store.put("rp-1", ["100"]);
    const poll = await pollServer({ "100": "0", "300": "2" });
    cleanups.push(poll.close);
    const { intake, handled, problems } = intakeWith(store, poll.options);
    cleanups.push(() => intake.close());
    const poller = (intake as unknown as { poller: { pollOnce(): Promise<void>; size: number } }).poller;
    intake.accepted("100"); // known: status 0 (buffered) is reported, polling goes on until a final one
    intake.accepted("300"); // unknown after maxTries 1: given up for good
    intake.accepted("400"); // "pending": nothing yet, asked again
    await poller.pollOnce();
    assert.deepEqual(handled, ["report", "unknown"]);
    assert.equal(poller.size, 2, "100 (not final yet) and 400 (nothing yet) are polled again");
    await poller.pollOnce();
    assert.deepEqual(handled, ["report", "unknown"], "a status already taken is not handed on again");
    assert.deepEqual(problems, []);
  });

  test("polling options that cannot work are reported; pushes are still taken", async () => {
    const store = new MemoryStore();
    await store.put("rp-1", ["100"]);
    const { intake, problems } = intakeWith(store, { urlTemplate: "http://h/no-id", statusPattern: "(?<status>\\d)", serviceId: "s", pass: "p", intervalMs: 1000, maxOutstanding: 1, maxAgeMs: 1000 });
    cleanups.push(() => intake.close());
    assert.match(problems.join(), /needs \{transactionId\} or \{ptag\}/);
    assert.equal((await intake.push({ peer: "127.0.0.1", params: { transactionId: "100", status: "2" } })).status, 200);
  });
});
