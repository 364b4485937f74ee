/**
 * The readiness rule (lib/health/readiness.ts): a table of situations and the answer a load
 * balancer gets, plus the timeout of a store that does not answer and a bind's first attempt.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { judge, Readiness, SessionReadiness } from "../../../lib/health/readiness";

type Senders = Parameters<typeof judge>[0];
type Resources = Parameters<typeof judge>[1];
const bind = (name: string, up: boolean, starting = false) => ({ kind: "smpp-bind" as const, name, up, starting });
const account = (name: string, up: boolean) => ({ kind: "rapporto-account" as const, name, up, starting: false });
const store = (reachable: boolean, backend = "redis") => ({ kind: "store" as const, name: "correlation", backend, reachable });
const outbox = (depth: number | undefined, reachable = true) => ({ kind: "queue" as const, name: "courier-8eb23e93-5ecb-45ba-b726-3b064e0c56ab", backend: "redis", reachable, depth });

const cases: { name: string; senders: Senders; resources: Resources; ready: boolean; reason?: RegExp; outbox?: number }[] = [
  { name: "one bind up, store reachable", senders: [bind("smsc-a", true)], resources: [store(true), outbox(3)], ready: true, outbox: 3 },
  { name: "nothing deployed", senders: [], resources: [], ready: false, reason: /no SMPP bind or Rapporto account is deployed/ },
  { name: "the only bind is still on its first attempt after a start", senders: [bind("smsc-a", false, true)], resources: [store(true)], ready: false, reason: /bind smsc-a not bound yet since the start/ },
  { name: "one bind up, the other still starting", senders: [bind("a", true), bind("b", false, true)], resources: [store(true)], ready: false, reason: /bind b not bound yet/ },
  { name: "one bind up, the other down after a failure", senders: [bind("a", true), bind("b", false)], resources: [store(true)], ready: true },
  { name: "every bind down", senders: [bind("a", false), bind("b", false)], resources: [store(true)], ready: false, reason: /no SMPP bind is up/ },
  { name: "the store unreachable", senders: [bind("a", true)], resources: [store(false)], ready: false, reason: /store correlation \(redis\) unreachable/ },
  { name: "the outbox unreachable", senders: [bind("a", true)], resources: [store(true), outbox(undefined, false)], ready: false, reason: /queue outbox \(redis\) unreachable/ },
  { name: "a usable Rapporto account", senders: [account("rapporto", true)], resources: [store(true, "embedded")], ready: true },
  { name: "a misconfigured Rapporto account", senders: [account("rapporto", false)], resources: [], ready: false, reason: /no Rapporto account is usable/ },
  { name: "binds down, account up", senders: [bind("a", false), account("r", true)], resources: [], ready: false, reason: /no SMPP bind is up/ },
];

describe("readiness rule", () => {
  for (const c of cases) {
    test(`${c.name}: ${c.ready ? 200 : 503}`, () => {
      const report = judge(c.senders, c.resources);
      assert.equal(report.ready, c.ready, report.reasons.join("; "));
      if (c.reason) assert.match(report.reasons.join("; "), c.reason);
      else assert.deepEqual(report.reasons, []);
      if (c.outbox !== undefined) assert.equal(report.outbox, c.outbox);
      // The outbox's name holds the channel UUID: never in the report.
      assert.doesNotMatch(JSON.stringify(report), /8eb23e93/);
    });
  }

  test("a store that does not answer within the probe timeout counts as unreachable", async () => {
    const readiness = new Readiness(() => [{ kind: "store", name: "correlation", backend: "redis", probe: () => new Promise<undefined>(() => undefined) }], 50);
    readiness.add({ kind: "smpp-bind", name: "a", state: () => ({ up: true, starting: false }) });
    const report = await readiness.report();
    assert.equal(report.ready, false);
    assert.match(report.reasons[0], /unreachable/);
  });

  test("a bind is starting until it bound or failed once, then up or down", () => {
    let state: string | undefined = "connecting";
    const session = new SessionReadiness("a", () => state);
    assert.deepEqual(session.state(), { up: false, starting: true });
    session.observe("reconnecting");
    state = "reconnecting";
    assert.deepEqual(session.state(), { up: false, starting: false });
    state = "bound";
    session.observe("bound");
    assert.deepEqual(session.state(), { up: true, starting: false });
    assert.deepEqual(new SessionReadiness("misconfigured", () => undefined).state(), { up: false, starting: false });
  });
});
