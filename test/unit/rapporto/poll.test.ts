import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { checkPollOptions, DlrPoller, parsePollReply, pollUrl, type PollOptions } from "../../../lib/rapporto/poll";
import type { PushParams } from "../../../lib/rapporto/mo";

// Polling is "not documented anywhere in rapporto/docs ... only push is public", so the URL and
// the reply are configuration; these cases test that the configuration does what it says.
const OPTIONS: PollOptions = {
  urlTemplate: "http://h/status?login={serviceId}&pass={pass}&id={transactionId}",
  statusPattern: "status=(?<status>\\d+)(?:;ext=(?<reason>\\d+))?",
  serviceId: "svc",
  pass: "p+ss&1",
  intervalMs: 1000,
  maxOutstanding: 2,
  maxAgeMs: 60_000,
};

describe("poll URL template and reply parser", () => {
  test("values are URL-encoded into the template", () => {
    assert.equal(pollUrl(OPTIONS.urlTemplate, { serviceId: "svc", pass: "p+ss&1", transactionId: "42" }), "http://h/status?login=svc&pass=p%2Bss%261&id=42");
  });

  const pattern = checkPollOptions(OPTIONS);
  const cases: { name: string; status: number; body: string; expected: PushParams | undefined | RegExp }[] = [
    { name: "delivered", status: 200, body: "status=2", expected: { transactionId: "42", status: "2" } },
    { name: "failed with reason", status: 200, body: "status=5;ext=8", expected: { transactionId: "42", status: "5", unifiedExtStatus: "8" } },
    { name: "nothing yet", status: 200, body: "pending", expected: undefined },
    { name: "undocumented status", status: 200, body: "status=7", expected: /unknown status "7"/ },
    { name: "HTTP error", status: 500, body: "", expected: /HTTP 500/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = parsePollReply(pattern, "42", undefined, { status: c.status, body: c.body });
      if (c.expected instanceof RegExp) assert.match(result instanceof Error ? result.message : "", c.expected);
      else assert.deepEqual(result, c.expected);
    });
  }

  const bad: { name: string; options: Partial<PollOptions>; reason: RegExp }[] = [
    { name: "template without an id", options: { urlTemplate: "http://h/status" }, reason: /\{transactionId\} or \{ptag\}/ },
    { name: "pattern without status group", options: { statusPattern: "(\\d)" }, reason: /named group \(\?<status>/ },
    { name: "broken pattern", options: { statusPattern: "(?<status>" }, reason: /not a valid regular expression/ },
    { name: "interval under a second", options: { intervalMs: 10 }, reason: /at least 1000 ms/ },
  ];
  for (const c of bad) test(`refuses ${c.name}`, () => assert.throws(() => checkPollOptions({ ...OPTIONS, ...c.options }), c.reason));
});

describe("DlrPoller against a local server", () => {
  async function server(answer: (id: string) => [number, string]): Promise<{ srv: Server; url: string }> {
    const srv = createServer((req, res) => {
      const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? "";
      const [status, body] = answer(id);
      res.writeHead(status).end(body);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    return { srv, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
  }

  test("reports a final status once and stops polling that id; errors never show the password", async () => {
    const seen: PushParams[] = [];
    const errors: string[] = [];
    const { srv, url } = await server((id) => (id === "1" ? [200, "status=2"] : [500, "p+ss&1 oops"]));
    const poller = new DlrPoller({ ...OPTIONS, urlTemplate: `${url}/s?pass={pass}&id={transactionId}` }, {
      status: async (p) => (seen.push(p), true),
      expired: () => undefined,
      error: (_id, reason) => errors.push(reason),
    });
    poller.track("1");
    poller.track("2");
    await poller.pollOnce();
    await poller.pollOnce();
    poller.stop();
    await new Promise((r) => srv.close(r));
    assert.deepEqual(seen, [{ transactionId: "1", status: "2" }]);
    assert.equal(poller.size, 1);
    assert.deepEqual(errors, ["poll answered HTTP 500", "poll answered HTTP 500"]);
  });

  test("a status not handed on is asked about again, and reported when taken", async () => {
    let take = false;
    const offered: PushParams[] = [];
    const { srv, url } = await server(() => [200, "status=5;ext=2"]);
    const poller = new DlrPoller({ ...OPTIONS, urlTemplate: `${url}/s?id={transactionId}` }, {
      status: async (p) => (offered.push(p), take),
      expired: () => undefined,
      error: () => undefined,
    });
    poller.track("7");
    await poller.pollOnce();
    assert.equal(poller.size, 1, "still outstanding after a refused hand-on");
    take = true;
    await poller.pollOnce();
    await poller.pollOnce();
    poller.stop();
    await new Promise((r) => srv.close(r));
    assert.equal(poller.size, 0);
    assert.deepEqual(offered, [{ transactionId: "7", status: "5", unifiedExtStatus: "2" }, { transactionId: "7", status: "5", unifiedExtStatus: "2" }]);
  });

  test("bounded set: the oldest outstanding id is given up", () => {
    const expired: string[] = [];
    const poller = new DlrPoller(OPTIONS, { status: async () => true, expired: (id) => expired.push(id), error: () => undefined });
    for (const id of ["a", "b", "c"]) poller.track(id);
    poller.stop();
    assert.deepEqual(expired, ["a"]);
    assert.equal(poller.size, 2);
  });

  test("an id older than maxAgeMs is given up", async () => {
    let now = 0;
    const expired: string[] = [];
    const poller = new DlrPoller({ ...OPTIONS, maxAgeMs: 10 }, { status: async () => true, expired: (id, why) => expired.push(`${id}: ${why}`), error: () => undefined }, () => now);
    poller.track("a");
    now = 11;
    await poller.pollOnce();
    poller.stop();
    assert.deepEqual(expired, ["a: no final status within the polling time"]);
  });
});
