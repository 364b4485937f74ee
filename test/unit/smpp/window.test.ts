/**
 * The submit window on its own (no socket): offer/complete, the window limit, FIFO order,
 * re-queue after a lost link, attempts, throttling pauses, deadlines and close.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import { DEFAULT_STATUS_POLICY, ESME_RINVDSTADR, ESME_RSYSERR, ESME_RTHROTTLED } from "../../../lib/smpp/command-status";
import { InvalidPduError, LinkDownError } from "../../../lib/smpp/link";
import { SubmitWindow, type SubmitOutcome, type WindowOptions } from "../../../lib/smpp/window";
import { waitFor } from "../../helpers/wait";

type Done = (error: Error | undefined, pdu?: smpp.PDU) => void;

interface Harness {
  window: SubmitWindow;
  /** Submits sent and not yet answered, oldest first. */
  sent: Array<{ to: string; done: Done }>;
  /** Every destination in the order it was sent (re-sends included). */
  order: string[];
  states: Array<{ throttled: boolean; windowFull: boolean; lastError?: string }>;
  logs: string[];
  connected: boolean;
}

function harness(options: Partial<WindowOptions> = {}): Harness {
  const h: Harness = { sent: [], order: [], states: [], logs: [], connected: true } as unknown as Harness;
  h.window = new SubmitWindow(
    {
      window: 2,
      maxQueue: 100,
      queueTimeoutMs: 5_000,
      maxAttempts: 3,
      throughput: 0,
      throttlePauseMs: 40,
      throttlePauseMaxMs: 100,
      policy: DEFAULT_STATUS_POLICY,
      ...options,
    },
    {
      send: (params, done) => {
        const to = String(params.destination_addr);
        h.order.push(to);
        h.sent.push({ to, done });
      },
      canSend: () => h.connected,
      onState: (state) => h.states.push(state),
      lastError: () => "the last reason",
      log: (level, text) => h.logs.push(`${level}: ${text}`),
    },
  );
  return h;
}

function offer(h: Harness, to: string, deadline?: number): Promise<SubmitOutcome> {
  return h.window.offer({ destination_addr: to, short_message: Buffer.from("x") }, { deadline });
}

function resp(status: number, messageId = ""): smpp.PDU {
  return new smpp.PDU("submit_sm_resp", { command_status: status, ...(status === 0 ? { message_id: messageId } : {}) });
}

/** Answers the oldest submit in flight. */
function answer(h: Harness, error: Error | undefined, pdu?: smpp.PDU): string {
  const first = h.sent.shift();
  assert.ok(first, "nothing in flight to answer");
  first.done(error, pdu);
  return first.to;
}

describe("offer and complete", () => {
  test("no more than `window` submits are in flight; each complete lets the next one go, in FIFO order", async () => {
    const h = harness({ window: 2 });
    const outcomes = ["a", "b", "c", "d", "e"].map((to) => offer(h, to));
    assert.deepEqual(h.order, ["a", "b"]);
    assert.equal(h.window.inFlight, 2);
    assert.equal(h.window.queued, 3);
    assert.deepEqual(h.states.at(-1), { throttled: false, windowFull: true });
    for (let i = 0; i < 5; i++) answer(h, undefined, resp(0, `id-${i}`));
    assert.deepEqual(h.order, ["a", "b", "c", "d", "e"]);
    const settled = await Promise.all(outcomes);
    assert.deepEqual(settled.map((o) => o.ok && o.messageId), ["id-0", "id-1", "id-2", "id-3", "id-4"]);
    assert.deepEqual(h.states.at(-1), { throttled: false, windowFull: false });
  });

  test("nothing is sent while there is no link; pump() sends once there is", () => {
    const h = harness();
    h.connected = false;
    void offer(h, "a");
    assert.deepEqual(h.order, []);
    h.connected = true;
    h.window.pump();
    assert.deepEqual(h.order, ["a"]);
  });

  const statuses: Array<[string, number, boolean]> = [
    ["ESME_RSYSERR is temporary (Kannel and Jasmin retry it, smpp-and-gateways.md §3.2, §4.2)", ESME_RSYSERR, true],
    ["ESME_RINVDSTADR is permanent (Rapporto: 'bad destination (do not retry)', aggregator-protocols.md §1.5)", ESME_RINVDSTADR, false],
  ];
  for (const [name, status, temporary] of statuses) {
    test(name, async () => {
      const h = harness();
      const outcome = offer(h, "a");
      answer(h, undefined, resp(status));
      const o = await outcome;
      assert.ok(!o.ok);
      assert.equal(o.commandStatus, status);
      assert.equal(o.error.temporary, temporary);
      assert.equal(o.attempts, 1);
    });
  }

  test("a submit that cannot be encoded fails at once, permanently, and is never re-sent", async () => {
    const h = harness();
    const outcome = offer(h, "a");
    answer(h, new InvalidPduError("cannot encode submit_sm: value out of range"));
    const o = await outcome;
    assert.ok(!o.ok && o.error.code === "INVALID_PDU" && o.error.temporary === false);
    assert.deepEqual(h.order, ["a"]);
  });
});

describe("a lost link (smpp-and-gateways.md §9.3: 'every in-flight PDU goes back to the queue')", () => {
  test("submits in flight go back to their original place and count an attempt", async () => {
    const h = harness({ window: 2 });
    const outcomes = ["a", "b", "c"].map((to) => offer(h, to));
    h.connected = false;
    answer(h, new LinkDownError("connection closed by the peer"));
    answer(h, new LinkDownError("connection closed by the peer"));
    assert.equal(h.window.queued, 3);
    h.connected = true;
    h.window.pump();
    assert.deepEqual(h.order, ["a", "b", "a", "b"]);
    for (let i = 0; i < 3; i++) answer(h, undefined, resp(0, String(i)));
    assert.deepEqual((await Promise.all(outcomes)).map((o) => o.attempts), [2, 2, 1]);
    assert.ok(h.logs.some((l) => /back in the queue after: connection closed by the peer/.test(l)));
  });

  test("after maxAttempts sends the submit fails as temporary CONNECTION_LOST", async () => {
    const h = harness({ maxAttempts: 2 });
    const outcome = offer(h, "a");
    answer(h, new LinkDownError("no response to submit_sm"));
    answer(h, new LinkDownError("no response to submit_sm"));
    const o = await outcome;
    assert.ok(!o.ok && o.error.code === "CONNECTION_LOST" && o.error.temporary);
    assert.match(o.error.text, /sent 2 times/);
  });
});

describe("throttling (Kannel: 'On ESME_RTHROTTLED … pauses sending', §3.2)", () => {
  test("the refused submit is re-queued without counting an attempt, and nothing leaves until the pause ends", async () => {
    const h = harness({ window: 2, throttlePauseMs: 60 });
    const outcomes = ["a", "b"].map((to) => offer(h, to));
    answer(h, undefined, resp(ESME_RTHROTTLED));
    assert.equal(h.states.at(-1)?.throttled, true);
    assert.match(h.states.at(-1)?.lastError ?? "", /ESME_RTHROTTLED \(0x58\); pausing submits for 60 ms/);
    answer(h, undefined, resp(0, "b"));
    assert.deepEqual(h.order, ["a", "b"], "sent during the pause");
    await waitFor(() => h.order.length === 3, "the re-send after the pause", 2_000);
    assert.equal(h.order[2], "a");
    answer(h, undefined, resp(0, "a"));
    const [a] = await Promise.all(outcomes);
    assert.ok(a.ok && a.attempts === 1);
    assert.equal(h.states.at(-1)?.throttled, false);
  });

  test("the pause doubles while throttling repeats, up to its maximum, and starts again after a success", async () => {
    const h = harness({ window: 1, throttlePauseMs: 20, throttlePauseMaxMs: 50 });
    const outcome = offer(h, "a");
    for (let i = 0; i < 3; i++) {
      await waitFor(() => h.sent.length === 1, "a send", 2_000);
      answer(h, undefined, resp(ESME_RTHROTTLED));
    }
    await waitFor(() => h.sent.length === 1, "a send", 2_000);
    answer(h, undefined, resp(0));
    await outcome;
    void offer(h, "b");
    await waitFor(() => h.sent.length === 1, "a send", 2_000);
    answer(h, undefined, resp(ESME_RTHROTTLED));
    const pauses = h.logs.filter((l) => l.includes("pausing")).map((l) => Number(/for (\d+) ms/.exec(l)?.[1]));
    assert.deepEqual(pauses, [20, 40, 50, 20]);
  });
});

describe("deadlines and close", () => {
  test("a submit still queued at its deadline fails as temporary DEADLINE with the last reason", async () => {
    const h = harness();
    h.connected = false;
    const o = await offer(h, "a", Date.now() + 20);
    assert.ok(!o.ok && o.error.code === "DEADLINE" && o.error.temporary);
    assert.match(o.error.text, /the last reason/);
    assert.deepEqual(h.order, []);
  });

  test("a full queue refuses at once as temporary QUEUE_FULL", async () => {
    const h = harness({ maxQueue: 1 });
    h.connected = false;
    void offer(h, "a");
    const o = await offer(h, "b");
    assert.ok(!o.ok && o.error.code === "QUEUE_FULL" && o.error.temporary);
  });

  test("close fails what is queued as CLOSED; what is in flight still completes with its response", async () => {
    const h = harness({ window: 1 });
    const first = offer(h, "a");
    const second = offer(h, "b");
    h.window.close();
    const b = await second;
    assert.ok(!b.ok && b.error.code === "CLOSED");
    answer(h, undefined, resp(0, "A"));
    const a = await first;
    assert.ok(a.ok && a.messageId === "A");
    const late = await offer(h, "c");
    assert.ok(!late.ok && late.error.code === "CLOSED");
  });
});
