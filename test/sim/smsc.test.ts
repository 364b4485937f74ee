/**
 * The SMSC simulator, checked with the `smpp` package's own client (not our session layer),
 * so that the session tests rest on a peer that is right by itself.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import { startSmsc, type ReceiptStat, type SmscOptions, type SmscSim } from "../../sim/smsc";
import { waitFor as poll } from "../helpers/wait";

const CREDS = { systemId: "sim-user", password: "sim-pass" };

interface Client {
  session: smpp.Session;
  /** PDUs the SMSC sent us (deliver_sm), in order; each answered with `answer`. */
  received: smpp.PDU[];
  answer: number;
  request(command: string, params?: smpp.PduParams, timeoutMs?: number): Promise<smpp.PDU | undefined>;
  close(): Promise<void>;
}

async function client(sim: SmscSim, bind = "bind_transceiver", creds = CREDS): Promise<{ c: Client; bindStatus: number }> {
  const session = smpp.connect({ host: "127.0.0.1", port: sim.port });
  session.on("error", () => undefined);
  const c: Client = {
    session,
    received: [],
    answer: 0,
    request(command, params = {}, timeoutMs = 1_000) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        session.send(new smpp.PDU(command, params), (pdu) => {
          clearTimeout(timer);
          resolve(pdu);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (session.socket.destroyed) return resolve();
        session.destroy(() => resolve());
      }),
  };
  session.on("deliver_sm", (pdu: smpp.PDU) => {
    c.received.push(pdu);
    session.send(pdu.response({ command_status: c.answer }));
  });
  await new Promise<void>((resolve) => session.on("connect", () => resolve()));
  const resp = await c.request(bind, { system_id: creds.systemId, password: creds.password, interface_version: 0x34 });
  return { c, bindStatus: resp ? resp.command_status : -1 };
}

async function withSim(options: SmscOptions, fn: (sim: SmscSim) => Promise<void>): Promise<void> {
  const sim = await startSmsc({ credentials: CREDS, ...options });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

/** The shared poll, with the 2 s these simulator tests allow by default. */
function waitFor(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  return poll(check, what, timeoutMs);
}

const submit = (n: number, extra: smpp.PduParams = {}): smpp.PduParams => ({
  source_addr: "Info",
  destination_addr: `47900${n}`,
  data_coding: 0,
  short_message: Buffer.from(`hello number ${n}`, "ascii"),
  ...extra,
});

describe("binds", () => {
  const cases: Array<{ name: string; bind: string; creds: typeof CREDS; status: number }> = [
    { name: "transceiver, right credentials", bind: "bind_transceiver", creds: CREDS, status: 0 },
    { name: "transmitter", bind: "bind_transmitter", creds: CREDS, status: 0 },
    { name: "receiver", bind: "bind_receiver", creds: CREDS, status: 0 },
    { name: "wrong password → 0x0E", bind: "bind_transceiver", creds: { ...CREDS, password: "nope" }, status: 0x0e },
    { name: "wrong system_id → 0x0F", bind: "bind_transceiver", creds: { ...CREDS, systemId: "nope" }, status: 0x0f },
  ];
  for (const cs of cases) {
    test(cs.name, () =>
      withSim({}, async (sim) => {
        const { c, bindStatus } = await client(sim, cs.bind, cs.creds);
        assert.equal(bindStatus, cs.status);
        assert.equal(sim.counters.bindsRefused, cs.status ? 1 : 0);
        await c.close();
        await waitFor(() => sim.counters.openConnections === 0, "the connection to close");
      }),
    );
  }

  test("submit_sm on a receiver bind → ESME_RINVBNDSTS", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim, "bind_receiver");
      assert.equal((await c.request("submit_sm", submit(1)))?.command_status, 0x04);
      await c.close();
    }),
  );
});

describe("submits", () => {
  for (const [idFormat, pattern] of [["decimal", /^\d+$/], ["hex", /^[0-9A-F]+$/]] as const) {
    test(`answers with unique ${idFormat} message ids`, () =>
      withSim({ idFormat }, async (sim) => {
        const { c } = await client(sim);
        const resps = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request("submit_sm", submit(i))));
        const ids = resps.map((p) => String(p?.message_id));
        assert.equal(new Set(ids).size, 50);
        assert.ok(ids.every((id) => pattern.test(id)), ids.join(","));
        assert.equal(sim.submitted.length, 50);
        await c.close();
      }),
    );
  }
});

describe("receipts: SMPP 3.4 Appendix B 'id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text:' plus TLVs", () => {
  // §5.2: message_state "1 ENROUTE, 2 DELIVERED, 3 EXPIRED, 4 DELETED, 5 UNDELIVERABLE, 6 ACCEPTED, 7 UNKNOWN, 8 REJECTED"
  const cases: Array<[ReceiptStat, number, string]> = [
    ["DELIVRD", 2, "001"],
    ["EXPIRED", 3, "000"],
    ["UNDELIV", 5, "000"],
    ["REJECTD", 8, "000"],
    ["ENROUTE", 1, "000"],
    ["ACCEPTD", 6, "000"],
  ];
  for (const [stat, state, dlvrd] of cases) {
    test(`${stat}: message_state ${state}, dlvrd:${dlvrd}`, () =>
      withSim({ receiptDelayMs: 10, receiptStat: stat }, async (sim) => {
        const { c } = await client(sim);
        const resp = await c.request("submit_sm", submit(1, { registered_delivery: 1 }));
        await waitFor(() => c.received.length === 1, "the receipt");
        const dlr = c.received[0];
        assert.equal(Number(dlr.esm_class) & 0x3c, 0x04);
        assert.equal(dlr.receipted_message_id, resp?.message_id);
        assert.equal(dlr.message_state, state);
        const text = (dlr.short_message as { message: string }).message;
        const m = /^id:(\S+) sub:001 dlvrd:(\d{3}) submit date:\d{10} done date:\d{10} stat:(\w{7}) err:\d{3} Text:hello number 1$/.exec(text);
        assert.ok(m, text);
        assert.deepEqual([m[1], m[2], m[3]], [resp?.message_id, dlvrd, stat]);
        await waitFor(() => sim.counters.deliverResps[0] === 1, "the deliver_sm_resp to be counted");
        await c.close();
      }),
    );
  }

  test("no receipt without registered_delivery", () =>
    withSim({ receiptDelayMs: 10 }, async (sim) => {
      const { c } = await client(sim);
      await c.request("submit_sm", submit(1));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(c.received.length, 0);
      await c.close();
    }),
  );
});

describe("MO generation (§6: 'IEI 0x00, 8-bit reference (05 00 03 rr tt nn) … 153 GSM septets … 67 UCS-2')", () => {
  const cases: Array<{ name: string; text: string; concat?: "sar"; parts: number[]; dc: number }> = [
    { name: "short GSM text: one part, dc 0", text: "hello", parts: [5], dc: 0 },
    { name: "160 GSM characters still fit one part", text: "a".repeat(160), parts: [160], dc: 0 },
    { name: "161 GSM characters: 153 + 8", text: "a".repeat(161), parts: [153, 8], dc: 0 },
    { name: "UCS-2 71 units: 67 + 4", text: "ж".repeat(71), parts: [67, 4], dc: 8 },
    // the emoji would straddle units 67/68: it moves whole into part 2
    { name: "a surrogate pair is never split", text: "ж".repeat(66) + "😀" + "ж".repeat(10), parts: [66, 12], dc: 8 },
    { name: "SAR TLVs instead of UDH", text: "b".repeat(200), concat: "sar", parts: [153, 47], dc: 0 },
  ];
  for (const cs of cases) {
    test(cs.name, () =>
      withSim({}, async (sim) => {
        const { c } = await client(sim);
        const statuses = await sim.sendMo({ from: "4790000001", to: "2222", text: cs.text, concat: cs.concat });
        assert.deepEqual(statuses, cs.parts.map(() => 0));
        assert.deepEqual(
          c.received.map((p) => (p.short_message as { message: string }).message.length),
          cs.parts,
        );
        assert.equal(c.received.map((p) => (p.short_message as { message: string }).message).join(""), cs.text);
        for (const [i, p] of c.received.entries()) {
          assert.equal(p.data_coding, cs.dc);
          if (cs.parts.length === 1) continue;
          if (cs.concat === "sar") {
            assert.deepEqual([p.sar_total_segments, p.sar_segment_seqnum], [cs.parts.length, i + 1]);
            assert.equal(Number(p.esm_class) & 0x40, 0);
          } else {
            const udh = (p.short_message as { udh: Buffer[] }).udh[0];
            assert.deepEqual([udh[0], udh[1], udh[3], udh[4]], [0x00, 0x03, cs.parts.length, i + 1]);
            assert.equal(Number(p.esm_class) & 0x40, 0x40);
          }
        }
        await c.close();
      }),
    );
  }

  test("parts can be sent last-first; a temporary answer is reported as given", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim);
      c.answer = 0x64;
      assert.deepEqual(await sim.sendMo({ from: "1", to: "2", text: "c".repeat(200), reverse: true }), [0x64, 0x64]);
      const seq = c.received.map((p) => (p.short_message as { udh: Buffer[] }).udh[0][4]);
      assert.deepEqual(seq, [2, 1]);
      assert.equal(sim.counters.deliverResps[0x64], 2);
      await c.close();
    }),
  );

  test("with no receiving bind, sendMo reports -1 (nothing delivered)", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim, "bind_transmitter");
      assert.deepEqual(await sim.sendMo({ from: "1", to: "2", text: "x" }), [-1]);
      await c.close();
    }),
  );
});

describe("faults on command", () => {
  test("throttleNext and statusNext answer the next submits with those statuses, then recover", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim);
      sim.setFault({ throttleNext: 2, statusNext: { status: 0x0b, count: 1 } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await c.request("submit_sm", submit(i)))?.command_status ?? -1);
      assert.deepEqual(statuses, [0x58, 0x58, 0x0b, 0]);
      assert.equal(sim.counters.refused, 3);
      await c.close();
    }),
  );

  test("responseDelayMs holds responses; ignoreSubmits and ignoreEnquireLink never answer", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim);
      sim.setFault({ responseDelayMs: 150 });
      const t0 = Date.now();
      assert.equal((await c.request("submit_sm", submit(1)))?.command_status, 0);
      assert.ok(Date.now() - t0 >= 140);
      sim.setFault({ responseDelayMs: 0, ignoreSubmits: true, ignoreEnquireLink: true });
      assert.equal(await c.request("submit_sm", submit(2), 200), undefined);
      assert.equal(await c.request("enquire_link", {}, 200), undefined);
      sim.clearFaults();
      assert.equal((await c.request("enquire_link"))?.command, "enquire_link_resp");
      await c.close();
    }),
  );

  test("drop() closes every connection", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim);
      const closed = new Promise<void>((resolve) => c.session.on("close", () => resolve()));
      assert.equal(sim.drop(), 1);
      await closed;
      await waitFor(() => sim.counters.openConnections === 0, "no connection left");
    }),
  );

  test("sendHostile('oversize') makes the package's reader fail (§1.4 stall hazard)", () =>
    withSim({}, async (sim) => {
      const { c } = await client(sim);
      const error = new Promise<Error>((resolve) => c.session.on("error", resolve));
      sim.sendHostile("oversize");
      assert.match((await error).message, /PDU length was too large \(1213486160/);
      await c.close();
    }),
  );

  test("close() ends connected clients and frees the port", async () => {
    const sim = await startSmsc({});
    const { c } = await client(sim, "bind_transceiver");
    const closed = new Promise<void>((resolve) => c.session.on("close", () => resolve()));
    await sim.close();
    await closed;
  });
});

describe("several binds (instances of one bridge) and a restart", () => {
  let turn = 0;
  test("chooseReceiver sends a receipt to the other bind and spreads MO parts over both", () =>
    withSim(
      {
        receiptDelayMs: 10,
        chooseReceiver: ({ kind, receivers, submittedOn }) => (kind === "receipt" ? (receivers.find((id) => id !== submittedOn) ?? receivers[0]) : receivers[turn++ % receivers.length]),
      },
      async (sim) => {
        const { c: first } = await client(sim);
        const { c: second } = await client(sim);
        try {
          const resp = await first.request("submit_sm", submit(1, { registered_delivery: 1 }));
          assert.equal(resp?.command_status, 0);
          await waitFor(() => second.received.length === 1, "the receipt on the other bind");
          assert.equal(first.received.length, 0, "nothing on the bind the submit came on");
          assert.equal(Number(second.received[0].esm_class) & 0x04, 0x04, "a delivery receipt");
          await sim.sendMo({ from: "+4790000001", to: "2020", text: "x".repeat(300) });
          assert.equal(first.received.length + second.received.length, 3);
          assert.equal(first.received.length, 1, "one part on the first bind");
        } finally {
          await first.close();
          await second.close();
        }
      },
    ));

  test("restart cuts every bind, refuses connections while down, then listens on the same port and redelivers", () =>
    withSim({ redeliverMs: 100 }, async (sim) => {
      const { c } = await client(sim);
      const port = sim.port;
      const restarting = sim.restart(300);
      await waitFor(() => c.session.socket.destroyed, "the bind cut");
      const receipt = sim.sendReceipt("123456", "DELIVRD");
      await restarting;
      assert.equal(sim.port, port);
      const { c: again, bindStatus } = await client(sim);
      try {
        assert.equal(bindStatus, 0);
        assert.equal(await receipt, 0, "the receipt held while down reaches the new bind");
        assert.equal(again.received.length, 1);
      } finally {
        await again.close();
      }
    }));
});
