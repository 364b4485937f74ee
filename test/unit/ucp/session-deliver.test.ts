import { describe, test } from "node:test";
import { createServer, type AddressInfo } from "node:net";
import assert from "node:assert/strict";
import type { UcpDelivery } from "../../../lib/ucp/incoming";
import { buildSubmit } from "../../../lib/ucp/submit";
import { Reassembler } from "../../../lib/sms/reassembly";
import { loggedIn, rig, waitFor } from "./session-fixtures";

const fields = (text = "hello") => {
  const built = buildSubmit({ id: "1", to: "+250788123123", from: "2020", text });
  assert.ok(built.ok);
  return built.ok ? built.operations[0] : {};
};

describe("UCP session: notifications (OT 53) and MO (OT 52, OT 01), answered by the caller", () => {
  test("§2.5 a notification keyed by (recipient, SCTS) of the submit's result; answered `A` only when the caller says so", async () => {
    const r = await rig({}, { notifyOutcome: "failed" });
    try {
      await loggedIn(r);
      const deliveries: UcpDelivery[] = [];
      r.session.on("delivery", (d: UcpDelivery) => deliveries.push(d));
      const outcome = await r.session.submit(fields());
      assert.ok(outcome.ok);
      await waitFor(() => deliveries.length === 1, "the notification");
      const d = deliveries[0];
      assert.equal(d.kind, "notification");
      if (d.kind !== "notification" || !outcome.ok) return;
      assert.equal(d.notification.key, `${outcome.recipient}:${outcome.scts}`);
      assert.equal(d.notification.status, "failed");
      assert.equal(d.notification.rsn, "107");
      assert.equal(r.sim.counters.answers.positive, 0, "not answered before respond()");
      d.respond({ ok: true });
      await waitFor(() => r.sim.counters.answers.positive === 1, "the positive result");
    } finally {
      await r.close();
    }
  });

  test("§2.5 NT 7: a buffered notification (DST 1, not final) and then the final one", async () => {
    const r = await rig({}, { notifyOutcome: "buffered" });
    try {
      await loggedIn(r);
      const seen: string[] = [];
      r.session.on("delivery", (d: UcpDelivery) => {
        if (d.kind === "notification") seen.push(`${d.notification.status}:${d.notification.final}`);
        d.respond({ ok: true });
      });
      const built = buildSubmit({ id: "1", to: "+250788123123", from: "2020", text: "x" }, { notifyBuffered: true });
      assert.ok(built.ok);
      if (built.ok) await r.session.submit(built.operations[0]);
      await waitFor(() => seen.length === 2, "two notifications");
      assert.deepEqual(seen, ["buffered:false", "delivered:true"]);
    } finally {
      await r.close();
    }
  });

  test("refusals ask the SMSC to deliver again: no listener, { ok: false }, a throw, no answer in time — each a negative result", async () => {
    const r = await rig({ deliverTimeoutMs: 100 }, { redeliverMs: 30 });
    try {
      await loggedIn(r);
      let calls = 0;
      const verdicts: Array<(d: UcpDelivery) => void> = [
        (d) => d.respond({ ok: false, text: "RapidPro is down" }),
        () => {
          throw new Error("boom");
        },
        () => undefined,
        (d) => d.respond({ ok: true }),
      ];
      const mo = r.sim.sendMo({ from: "+250788000001", to: "2020", text: "hi" });
      await waitFor(() => r.sim.counters.answers.negative >= 1, "the answer without a listener");
      r.session.on("delivery", (d: UcpDelivery) => verdicts[Math.min(calls++, verdicts.length - 1)](d));
      assert.deepEqual(await mo, ["A"]);
      assert.equal(r.sim.counters.answers.negative, 4);
      assert.equal(r.sim.counters.answers.positive, 1);
      assert.ok(r.logs.some((l) => /no receiver is registered/.test(l)));
      assert.ok(r.logs.some((l) => /not answered within 100 ms/.test(l)));
    } finally {
      await r.close();
    }
  });

  test("MO: 3 UCS-2 parts with an emoji, out of order, reassemble from XSer UDH and DCS", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      const text = "Привет 😀 ".repeat(20);
      const joined: string[] = [];
      const reassembler = new Reassembler<UcpDelivery>({ onFlush: () => undefined });
      r.session.on("delivery", (d: UcpDelivery) => {
        assert.equal(d.kind, "mo");
        if (d.kind !== "mo") return;
        const { mo } = d;
        assert.equal(mo.alphabet, "ucs2");
        assert.equal(mo.dcs, 8);
        if (!mo.concat || !mo.alphabet) return d.respond({ ok: false });
        const result = reassembler.add({ from: mo.from, to: mo.to, concat: mo.concat, octets: mo.octets, alphabet: mo.alphabet, context: d });
        if (result.status === "complete") joined.push(result.message.text);
        d.respond({ ok: true });
      });
      const answers = await r.sim.sendMo({ from: "+250788000001", to: "2020", text, reverse: true });
      assert.equal(answers.length, 3);
      assert.deepEqual(answers, ["A", "A", "A"]);
      assert.deepEqual(joined, [text]);
      assert.equal(reassembler.flushAll(), 0);
    } finally {
      await r.close();
    }
  });

  test("§2.2 OT 01 is accepted as MO too, answered `A//`", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      const texts: string[] = [];
      r.session.on("delivery", (d: UcpDelivery) => {
        if (d.kind === "mo") texts.push(`${d.ot}:${d.mo.from}:${d.mo.text}`);
        d.respond({ ok: true });
      });
      assert.deepEqual(await r.sim.sendMo({ from: "+250788000001", to: "2020", text: "Hi @ home", ot: 1 }), ["A"]);
      // OT 01 has no OTOA field, so nothing says the number is international: no `+`.
      assert.deepEqual(texts, ["1:250788000001:Hi @ home"]);
    } finally {
      await r.close();
    }
  });

  test("§2.6 receive port: the SMSC connects in to deliver; the allow-list is enforced", async () => {
    // The simulator needs the receive port's number before it starts, so take a free one.
    const free = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await rig({ receiver: { port: free, allow: ["127.0.0.0/8"] } }, { deliverTo: { host: "127.0.0.1", port: free } });
    try {
      await loggedIn(r);
      const vias: string[] = [];
      r.session.on("delivery", (d: UcpDelivery) => {
        vias.push(d.via);
        d.respond({ ok: true });
      });
      assert.deepEqual(await r.sim.sendMo({ from: "+250788000001", to: "2020", text: "via the receive port" }), ["A"]);
      assert.deepEqual(vias, ["receiver"]);
    } finally {
      await r.close();
    }

    const refused = await rig({ receiver: { port: free, allow: "10.0.0.0/8" } }, { deliverTo: { host: "127.0.0.1", port: free } });
    try {
      await loggedIn(refused);
      refused.session.on("delivery", (d: UcpDelivery) => d.respond({ ok: true }));
      assert.deepEqual(await refused.sim.sendMo({ from: "+250788000001", to: "2020", text: "x" }), ["none"]);
      assert.ok(refused.logs.some((l) => /refused a connection from .*127\.0\.0\.1: not in the allow-list/.test(l)));
    } finally {
      await refused.close();
    }
  });

  test("a malformed MO (valid frame, non-hex text) is answered `N/02` with the reason; the connection stays", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      r.session.on("delivery", (d: UcpDelivery) => d.respond({ ok: true }));
      // A numeric MO (MT 2) with letters: the frame is fine, its content is not.
      assert.equal(await r.sim.sendOperation(52, { ADC: "2020", OADC: "250788000001", MT: "2", MSG: "12AB" }), "N/02");
      assert.ok(r.logs.some((l) => /operation 52 from the SMSC refused: numeric message \(MT 2\) has characters other than digits/.test(l)));
      assert.equal(await r.sim.sendOperation(53, { ADC: "2020", OADC: "250788000001", SCTS: "", DST: "0" }), "N/02");
      assert.equal(r.sim.counters.logins, 1, "the same connection");
      assert.deepEqual(await r.sim.sendMo({ from: "+250788000001", to: "2020", text: "ok" }), ["A"]);
    } finally {
      await r.close();
    }
  });
});
