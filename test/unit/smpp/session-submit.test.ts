/**
 * Submits through the session against the simulator: window, throttling back-off, status
 * classes, in-flight submits across a disconnect, response timeouts and deadlines.
 */
import net from "node:net";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { SubmitOutcome } from "../../../lib/smpp/session";
import { bound, params, rig, waitFor } from "./session-fixtures";

describe("window (Kannel max-pending-submits: 'maximum number of outstanding … SMPP operations', default 10)", () => {
  for (const window of [1, 3, 10]) {
    test(`window ${window}: the SMSC never sees more than ${window} unanswered submits, and does see ${window}`, async () => {
      const r = await rig({ window });
      try {
        await bound(r);
        r.sim.setFault({ responseDelayMs: 20 });
        const outcomes = await Promise.all(Array.from({ length: 4 * window + 3 }, (_, i) => r.session.submit(params(i))));
        assert.ok(outcomes.every((o) => o.ok));
        assert.equal(r.sim.counters.maxInFlight, window);
        assert.ok(r.statuses.some((s) => s.windowFull), "the status never said the window was full");
        assert.equal(r.session.status.windowFull, false);
      } finally {
        await r.close();
      }
    });
  }

  test("a window of submits queued in one turn leaves in one socket write, in order", async () => {
    const r = await rig({ window: 10 });
    const writes: number[] = [];
    const original = net.Socket.prototype.write;
    try {
      await bound(r);
      net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
        if (this.remotePort === r.sim.port) writes.push(Buffer.byteLength(args[0] as Buffer));
        return (original as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof original;
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => r.session.submit(params(i))));
      net.Socket.prototype.write = original;
      assert.ok(outcomes.every((o) => o.ok));
      assert.equal(writes.length, 1, `client writes: ${writes.join(", ")}`);
      assert.deepEqual(r.sim.submitted.map((s) => String(s.pdu.destination_addr)), Array.from({ length: 10 }, (_, i) => params(i).destination_addr));
    } finally {
      net.Socket.prototype.write = original;
      await r.close();
    }
  });

  test("submits leave in FIFO order", async () => {
    const r = await rig({ window: 4 });
    try {
      await bound(r);
      await Promise.all(Array.from({ length: 20 }, (_, i) => r.session.submit(params(i))));
      const order = r.sim.submitted.map((s) => String(s.pdu.destination_addr));
      assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => params(i).destination_addr));
      assert.equal(new Set(r.sim.submitted.map((s) => s.messageId)).size, 20);
    } finally {
      await r.close();
    }
  });
});

describe("throttling errors pause the bind and back off", () => {
  test("Kannel §3.2: 'On ESME_RTHROTTLED it … pauses sending for SMPP_THROTTLING_SLEEP_TIME = 1 s' (here 100 ms, doubling)", async () => {
    const r = await rig({ throttlePauseMs: 100, throttlePauseMaxMs: 1_000 });
    try {
      await bound(r);
      r.sim.setFault({ throttleNext: 3 });
      const started = Date.now();
      const outcome = await r.session.submit(params(1));
      const elapsed = Date.now() - started;
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(outcome.attempts, 1, "a refused (throttled) submit is not an attempt");
      assert.equal(r.sim.counters.submits, 4);
      assert.ok(elapsed >= 650, `paused only ${elapsed} ms; 100 + 200 + 400 expected`);
      const throttled = r.statuses.find((s) => s.throttled);
      assert.match(throttled?.lastError ?? "", /ESME_RTHROTTLED \(0x58\).*pausing submits for 100 ms/);
      assert.equal(r.session.status.throttled, false);
    } finally {
      await r.close();
    }
  });

  test("Rapporto §1.5: '0x14 partner queue full (pause 5 s)': ESME_RMSGQFUL pauses too", async () => {
    const r = await rig({ throttlePauseMs: 100 });
    try {
      await bound(r);
      r.sim.setFault({ statusNext: { status: 0x14, count: 1 } });
      const started = Date.now();
      const outcome = await r.session.submit(params(1));
      assert.equal(outcome.ok, true);
      assert.ok(Date.now() - started >= 90);
      assert.match(r.statuses.find((s) => s.throttled)?.lastError ?? "", /ESME_RMSGQFUL/);
    } finally {
      await r.close();
    }
  });

  test("one pause for a whole window of throttled submits, not one per submit", async () => {
    const r = await rig({ throttlePauseMs: 150, window: 5 });
    try {
      await bound(r);
      r.sim.setFault({ throttleNext: 5, responseDelayMs: 10 });
      const started = Date.now();
      const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => r.session.submit(params(i))));
      assert.ok(outcomes.every((o) => o.ok));
      assert.ok(Date.now() - started < 1_500, "the pause doubled once per throttled submit");
      assert.equal(r.logs.filter((l) => l.includes("pausing submits")).length, 1);
    } finally {
      await r.close();
    }
  });

  test("still throttled at the caller's deadline → temporary failure marked throttled", async () => {
    const r = await rig({ throttlePauseMs: 100 });
    try {
      await bound(r);
      r.sim.setFault({ throttleNext: 1_000 });
      const outcome = await r.session.submit(params(1), { deadline: Date.now() + 400 });
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.equal(outcome.error.temporary, true);
        assert.equal(outcome.error.throttled, true);
        assert.equal(outcome.commandStatus, 0x58);
      }
      // nothing left to send: the status still leaves "throttled" when the pause ends
      await waitFor(() => !r.session.status.throttled, "the throttled status to clear", 2_000);
    } finally {
      await r.close();
    }
  });
});

describe("refusals are classified by the status table", () => {
  const cases: Array<{ status: number; temporary: boolean; rule: string; policy?: number[] }> = [
    { status: 0x08, temporary: true, rule: "Kannel: ESME_RSYSERR is temporary" },
    { status: 0x61, temporary: true, rule: "Jasmin: ESME_RINVSCHED: 2 retries, 300 s apart" },
    { status: 0x0b, temporary: false, rule: "Rapporto: 0x0B bad destination (do not retry)" },
    { status: 0x45, temporary: false, rule: "Kannel: every other status is rejected" },
    { status: 0x45, temporary: true, rule: "a configured table overrides the defaults", policy: [0x45] },
  ];
  for (const c of cases) {
    test(`0x${c.status.toString(16)} → ${c.temporary ? "temporary" : "permanent"}: ${c.rule}`, async () => {
      const r = await rig({ temporaryStatuses: c.policy });
      try {
        await bound(r);
        r.sim.setFault({ statusNext: { status: c.status, count: 1 } });
        const outcome = await r.session.submit(params(1));
        assert.equal(outcome.ok, false);
        if (!outcome.ok) {
          assert.equal(outcome.commandStatus, c.status);
          assert.equal(outcome.error.code, c.status);
          assert.equal(outcome.error.temporary, c.temporary);
          assert.match(outcome.error.text, /ESME_R/);
        }
        assert.equal(r.sim.counters.submits, 1, "a refused submit is not re-sent by the session");
        assert.equal((await r.session.submit(params(2))).ok, true, "the bind stays usable");
      } finally {
        await r.close();
      }
    });
  }

  test("a submit the package cannot encode fails permanently and the bind stays up (§1.2: 'A short_message over 254 octets throws RangeError')", async () => {
    const r = await rig();
    try {
      await bound(r);
      const outcome = await r.session.submit(params(1, { short_message: Buffer.alloc(300, 0x41) }));
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.equal(outcome.error.code, "INVALID_PDU");
        assert.equal(outcome.error.temporary, false);
      }
      assert.equal(r.session.state, "bound");
      assert.equal((await r.session.submit(params(2))).ok, true);
    } finally {
      await r.close();
    }
  });
});

describe("in-flight submits survive a disconnect (§9.3: 'every in-flight PDU goes back to the queue … Never drop one silently')", () => {
  test("the SMSC drops the link with 5 submits unanswered: all 5 are re-sent on the next session, in order", async () => {
    const r = await rig({ window: 5 });
    try {
      await bound(r);
      r.sim.setFault({ responseDelayMs: 10_000 });
      const pending = Array.from({ length: 7 }, (_, i) => r.session.submit(params(i)));
      await waitFor(() => r.sim.counters.inFlight === 5, "five submits in flight");
      r.sim.clearFaults();
      r.sim.drop();
      const outcomes = await Promise.all(pending);
      assert.ok(outcomes.every((o) => o.ok), JSON.stringify(outcomes));
      assert.deepEqual(outcomes.map((o) => o.attempts), [2, 2, 2, 2, 2, 1, 1]);
      assert.equal(r.sim.counters.accepted, 7, "accepted once each");
      const order = r.sim.submitted.map((s) => String(s.pdu.destination_addr));
      assert.deepEqual(order, Array.from({ length: 7 }, (_, i) => params(i).destination_addr));
    } finally {
      await r.close();
    }
  });

  test("a response timeout (Kannel wait-ack) ends the link; the submit is re-sent on the next session", async () => {
    const r = await rig({ responseTimeoutMs: 200 });
    try {
      await bound(r);
      r.sim.setFault({ ignoreSubmits: true });
      const pending = r.session.submit(params(1));
      await waitFor(() => r.sim.counters.submits === 1, "the first submit");
      r.sim.clearFaults();
      const outcome = await pending;
      assert.equal(outcome.ok, true);
      assert.equal(outcome.attempts, 2);
      assert.equal(r.sim.counters.binds.transceiver, 2);
      assert.match(r.statuses.find((s) => s.state === "reconnecting")?.lastError ?? "", /no response to submit_sm/);
    } finally {
      await r.close();
    }
  });

  test("after maxAttempts lost responses the submit fails as temporary (never dropped, never endless)", async () => {
    const r = await rig({ responseTimeoutMs: 150, maxAttempts: 2 });
    try {
      await bound(r);
      r.sim.setFault({ ignoreSubmits: true });
      const outcome: SubmitOutcome = await r.session.submit(params(1));
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.equal(outcome.error.code, "CONNECTION_LOST");
        assert.equal(outcome.error.temporary, true);
        assert.equal(outcome.attempts, 2);
      }
      assert.equal(r.sim.counters.submits, 2);
    } finally {
      await r.close();
    }
  });
});

describe("deadlines and limits", () => {
  test("no bind before the deadline → temporary failure with the bind error as detail", async () => {
    const r = await rig({}, {}, false);
    r.sim.setFault({ refuseBind: 0x0d });
    r.session.start();
    try {
      const started = Date.now();
      const outcome = await r.session.submit(params(1), { deadline: Date.now() + 300 });
      assert.ok(Date.now() - started >= 250);
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.equal(outcome.error.code, "DEADLINE");
        assert.equal(outcome.error.temporary, true);
      }
    } finally {
      await r.close();
    }
  });

  test("the queue is bounded: beyond maxQueue a submit fails at once as temporary", async () => {
    const r = await rig({ maxQueue: 2 }, {}, false);
    try {
      const waiting = [r.session.submit(params(1)), r.session.submit(params(2))];
      const third = await r.session.submit(params(3));
      assert.ok(!third.ok && third.error.code === "QUEUE_FULL" && third.error.temporary);
      r.session.start();
      assert.ok((await Promise.all(waiting)).every((o) => o.ok));
    } finally {
      await r.close();
    }
  });
});
