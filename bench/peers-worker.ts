/**
 * The bridge's peers, in a worker thread of their own: the SMSC simulator (answers submits,
 * sends receipts, generates MO) and the fake courier (receives MO and status calls).
 *
 * They live apart from the load generator so that neither event loop waits for the other,
 * and so that the `ceiling` client in the main thread talks to the simulator across threads
 * as the bridge does across processes. Messages with the main thread are in `peers.ts`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { startCourier } from "../sim/courier";
import { startSmsc, type ReceiptStat, type SmscCounters } from "../sim/smsc";
import { startUcpSmsc, type NotifyOutcome, type UcpSim } from "../sim/ucp";
import { startCimd2Sim } from "../sim/cimd2";
import type { CallBatch, PeersConfig, PeersCounters, PeersReply, PeersRequest, MoResult } from "./peers";
import { now } from "./stats";

const config = workerData as PeersConfig;
const port = parentPort!;

/** Receipts are switched per scenario: `mt` measures the MT path alone. */
let receipts: ReceiptStat | null = null;
/** Submit times, kept only while a scenario asks (the rate-cap check). */
let submitLog: number[] | undefined;

/** Calls the fake courier accepted, sent to the main thread in batches (one message per call would cost more than the call). */
let batch: CallBatch = { actions: [], ids: [], times: [] };
const calls: Record<string, number> = {};

/** SMPP receipt states as UCP notification outcomes (DST 0/1/2). */
const NOTIFY: Partial<Record<ReceiptStat, NotifyOutcome>> = { DELIVRD: "delivered", ENROUTE: "buffered", ACCEPTD: "buffered", UNDELIV: "failed", EXPIRED: "failed", REJECTD: "failed", DELETED: "failed", UNKNOWN: "failed" };

/** What the scenarios need of an SMSC simulator: the SMPP simulator's face. */
type BenchSmsc = Pick<Awaited<ReturnType<typeof startSmsc>>, "port" | "on" | "close"> & { counters: SmscCounters; sendMo: (mo: { from: string; to: string; text: string }) => Promise<number[]> };

/**
 * A simulator behind the SMPP simulator's face: its port, events and close as they are, its
 * counters read through `counters` (each a login as a transceiver bind), its MO answers as
 * deliver_sm_resp statuses (0 taken, -1 none, else a refusal).
 */
function smppFace(
  sim: { port: number; on: (...args: never[]) => unknown; close(): Promise<void> },
  counters: () => Partial<Omit<SmscCounters, "binds" | "deliverResps">> & { logins: number; taken: number },
  sendMo: BenchSmsc["sendMo"],
): BenchSmsc {
  return {
    port: sim.port,
    on: sim.on.bind(sim) as never,
    close: () => sim.close(),
    get counters() {
      const { logins, taken, ...rest } = counters();
      return { ...rest, binds: { transceiver: logins, transmitter: 0, receiver: 0 }, deliverResps: { 0: taken } } as unknown as SmscCounters;
    },
    sendMo,
  };
}

/**
 * The UCP/EMI simulator behind the SMPP simulator's face, so every scenario reads one set of
 * counters: a login counts as a transceiver bind, OT 53 as receipts, an `A` as ESME_ROK.
 */
async function startUcp(): Promise<BenchSmsc> {
  const sim: UcpSim = await startUcpSmsc({
    credentials: { username: config.systemId, password: config.password },
    notifyDelayMs: config.receiptDelayMs,
    notifyOutcome: () => (receipts ? (NOTIFY[receipts] ?? null) : null),
    keepSubmitted: false,
  });
  return smppFace(
    sim,
    () => {
      const c = sim.counters;
      return { accepted: c.accepted, receiptsSent: c.notificationsSent, mosSent: c.mosSent, logins: c.logins, openConnections: c.openConnections, taken: c.answers.positive, undelivered: c.undelivered, redeliveries: c.redeliveries };
    },
    async (mo) => (await sim.sendMo(mo)).map((answer) => (answer === "A" ? 0 : answer === "none" ? -1 : Number(answer.slice(2)) || 1)),
  );
}

/** SMPP receipt states as CIMD2 `061` status codes (lib/cimd2/report.ts: 4 delivered, 1 not final, 2 and 3 failed). */
const CIMD2_STATUS: Partial<Record<ReceiptStat, number>> = { DELIVRD: 4, ENROUTE: 1, ACCEPTD: 1, UNDELIV: 3, EXPIRED: 2, REJECTD: 3, DELETED: 8, UNKNOWN: 3 };

/** The CIMD2 simulator behind the same face: a login is a bind, op 23 a receipt, a plain 70 / 73 ESME_ROK. */
async function startCimd2(): Promise<BenchSmsc> {
  const sim = await startCimd2Sim({
    credentials: { username: config.systemId, password: config.password },
    reportDelayMs: config.receiptDelayMs,
    reportStatus: () => (receipts ? (CIMD2_STATUS[receipts] ?? null) : null),
    keepSubmitted: false,
  });
  return smppFace(
    sim,
    () => {
      const c = sim.counters;
      return { accepted: c.submits, receiptsSent: c.reports, mosSent: c.mo, logins: c.logins, openConnections: sim.loggedInPeers, taken: c.answered };
    },
    // "70" (op 20's response) is taken; "70 error 710" and the like are refusals.
    async (mo) => (await sim.sendMo(mo)).map((answer) => (/^\d+$/.test(answer) ? 0 : Number(/error (\d+)/.exec(answer)?.[1]) || -1)),
  );
}

async function main(): Promise<void> {
  const smsc: BenchSmsc =
    config.protocol === "ucp"
      ? await startUcp()
      : config.protocol === "cimd2"
        ? await startCimd2()
        : await startSmsc({
          credentials: { systemId: config.systemId, password: config.password },
          receiptDelayMs: config.receiptDelayMs,
          receiptStat: () => receipts,
          keepSubmitted: false,
        });
  smsc.on("submit", () => submitLog?.push(now()));
  const courier = await startCourier({
    channelUuid: config.channelUuid,
    keepCalls: false,
    onAccepted: (call) => {
      calls[call.action] = (calls[call.action] ?? 0) + 1;
      batch.actions.push(call.action);
      batch.ids.push(call.params.uuid ?? call.params.id ?? "");
      batch.times.push(now());
    },
  });
  const flush = setInterval(() => {
    if (batch.actions.length === 0) return;
    port.postMessage({ type: "calls", batch });
    batch = { actions: [], ids: [], times: [] };
  }, 20);

  const counters = (): PeersCounters => ({
    smsc: JSON.parse(JSON.stringify(smsc.counters)),
    courierAccepted: { ...calls },
    courierRefused: courier.refused.length,
    courierRefusedSample: courier.refused.slice(0, 3),
  });

  async function handle(request: PeersRequest): Promise<unknown> {
    switch (request.cmd) {
      case "counters":
        return counters();
      case "receipts":
        receipts = request.stat;
        return undefined;
      case "submitLog": {
        if (request.on) {
          submitLog = [];
          return undefined;
        }
        const log = submitLog ?? [];
        submitLog = undefined;
        return log;
      }
      case "mo":
        return generateMo(request.count, request.concurrency, request.deadline, (mo) => smsc.sendMo(mo));
      case "close":
        clearInterval(flush);
        await Promise.all([smsc.close(), courier.close()]);
        return undefined;
    }
  }

  port.on("message", (request: PeersRequest) => {
    handle(request).then(
      (value) => port.postMessage({ type: "reply", id: request.id, value } satisfies PeersReply),
      (error: Error) => port.postMessage({ type: "reply", id: request.id, error: error.message } satisfies PeersReply),
    );
  });
  port.postMessage({ type: "ready", smscPort: smsc.port, courierUrl: courier.url });
}

/**
 * Sends `count` MO as deliver_sm with at most `concurrency` unanswered, like an SMSC with a
 * window. Latency is deliver_sm to deliver_sm_resp, which the bridge sends only once courier
 * took the message. Bounded by count and by the deadline.
 */
async function generateMo(
  count: number,
  concurrency: number,
  deadline: number,
  send: (mo: { from: string; to: string; text: string }) => Promise<number[]>,
): Promise<MoResult> {
  const latencies = new Float64Array(count);
  const completions = new Float64Array(count);
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const startedAt = now();
  async function lane(): Promise<void> {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      const from = `2507881${String(i % 100_000).padStart(5, "0")}`;
      const t0 = now();
      const statuses = await send({ from, to: "2020", text: `MO ${i} from the bench: hello & welcome` });
      const t1 = now();
      const bad = statuses.find((s) => s !== 0);
      if (bad !== undefined) {
        const kind = bad === -1 ? "deliver_sm unanswered" : `deliver_sm_resp 0x${bad.toString(16)}`;
        errors[kind] = (errors[kind] ?? 0) + 1;
        continue;
      }
      latencies[done] = t1 - t0;
      completions[done] = t1;
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => lane()));
  return { startedAt, sent: next, latencies: latencies.slice(0, done), completions: completions.slice(0, done), errors };
}

main().catch((error: Error) => {
  port.postMessage({ type: "fatal", error: error.message });
});
