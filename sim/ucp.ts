/**
 * A UCP/EMI SMSC simulator for tests, benchmarks and demos (aggregator-protocols.md §2: no
 * UCP SMSC simulator exists in npm or Debian, so this one is ours; Kannel's bearerbox checks
 * it in test/e2e/kannel-emi.test.ts). It listens on 127.0.0.1, checks the OT 60 login,
 * answers OT 31 and OT 51 (with `A//<ADC>:<SCTS>/`, the SCTS unique per recipient), sends
 * OT 53 notifications after a delay with a chosen outcome, generates OT 52 MO (long ones as
 * XSer UDH parts, UCS-2 as MT 4), and injects faults on command: dropped connections, slow
 * or missing results, negative results, refused logins and hostile frames. With `deliverTo`
 * it connects to the client's receive port to deliver, as some SMSCs do.
 *
 * Usage: `const sim = await startUcpSmsc({ port: 0 }); ... await sim.close();`
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { FrameReader, checksum, encodeFrame, frameBody, type Frame } from "../lib/ucp/frame";
import { fieldsOf, negativeResultFields, operationFields, positiveResultFields, type Fields, type OperationType } from "../lib/ucp/operations";
import { buildSubmit } from "../lib/ucp/submit";
import { ucpTime } from "../lib/ucp/time";
import { iraHex } from "../lib/ucp/session";
import { sendUntilAcknowledged } from "./store-and-forward";

export type NotifyOutcome = "delivered" | "failed" | "buffered";

export interface UcpSimOptions {
  port?: number;
  /** Accepted login; when unset any OT 60 succeeds. */
  credentials?: { username: string; password: string };
  /** Delay before a notification for a submit with NRQ 1. */
  notifyDelayMs?: number;
  /** The notification's outcome (sent only when the submit's NT asks for it); null sends none. */
  notifyOutcome?: NotifyOutcome | null | ((fields: Fields) => NotifyOutcome | null);
  /** RSN of failed notifications; default "107". */
  failReason?: string;
  /** An OT 52/53 that gets no positive result is sent again after this many ms, until it does. */
  redeliverMs?: number;
  /** Deliver OT 52/53 by connecting to this address (the client's receive port). */
  deliverTo?: { host: string; port: number };
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Keep every accepted submit in `submitted` (default true); the benchmark keeps only counters. */
  keepSubmitted?: boolean;
  /**
   * OT 52/53 in flight to one client at most, each with its own TRN (§2.6: "TRN space 00–99 ⇒ at
   * most 100 outstanding operations"); more wait for a free TRN. Default 100.
   */
  deliverWindow?: number;
  /** An OT 52/53 not answered within this long counts as "none" (and is redelivered); default 5 s. */
  answerTimeoutMs?: number;
}

export interface UcpSimFaults {
  responseDelayMs: number;
  /** Never answer OT 51. */
  ignoreSubmits: boolean;
  /** Never answer OT 31. */
  ignoreAlerts: boolean;
  /** Answer OT 31 this much later. */
  alertDelayMs: number;
  /** Answer the next `count` OT 51 negatively with this error code. */
  negativeNext: { code: string; count: number } | null;
  /** Refuse logins with this error code (null accepts). */
  refuseLogin: string | null;
}

const NO_FAULTS: UcpSimFaults = { responseDelayMs: 0, ignoreSubmits: false, ignoreAlerts: false, alertDelayMs: 0, negativeNext: null, refuseLogin: null };

export interface UcpSimCounters {
  connections: number;
  openConnections: number;
  logins: number;
  loginsRefused: number;
  alerts: number;
  submits: number;
  accepted: number;
  refused: number;
  inFlight: number;
  maxInFlight: number;
  notificationsSent: number;
  mosSent: number;
  /** Results to our OT 52/53: positive, negative, none within 5 s. */
  answers: { positive: number; negative: number; none: number };
  redeliveries: number;
  /** OT 52/53 not yet answered A (after a first answer that was not A), held for redelivery. */
  undelivered: number;
  /** Results that came after their operation's answer timeout: ignored, their TRN freed. */
  lateAnswers: number;
}

export interface UcpSubmitRecord {
  fields: Fields;
  recipient: string;
  scts: string;
  at: number;
  /** Which connection it came on (1 for the first the simulator accepted). */
  connection: number;
}

export interface UcpMoRequest {
  from: string;
  to: string;
  text: string;
  /** OT 52 (default) or the legacy OT 01 (single part, MT 3 only). */
  ot?: 1 | 52;
  reverse?: boolean;
  only?: number[];
  reference?: number;
}

/** What the client answered: "A", "N/<EC>", or "none". */
export type SimAnswer = string;

/** Byte sequences that break a UCP reader, by name. */
export const HOSTILE_FRAMES: Record<string, Buffer> = {
  /** An HTTP reply where a frame should be. */
  garbage: Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n", "latin1"),
  /** A positive OT 31 result with a wrong checksum. */
  checksum: Buffer.from("\x0200/00019/R/31/A//00\x03", "latin1"),
  /** LEN one short of the real length. */
  length: Buffer.from(`\x02${withCk("00/00018/R/31/A//")}\x03`, "latin1"),
  /** An OT 52 with 3 fields instead of 33. */
  fields: Buffer.from(`\x02${withCk("07/00025/O/52/1/2/3/")}\x03`, "latin1"),
};

function withCk(head: string): string {
  return head + checksum(head);
}

export interface UcpSim extends EventEmitter {
  readonly port: number;
  readonly counters: UcpSimCounters;
  readonly submitted: UcpSubmitRecord[];
  setFault(faults: Partial<UcpSimFaults>): void;
  clearFaults(): void;
  /** Destroys every connection; returns how many. */
  drop(): number;
  /** Writes hostile bytes to every logged-in connection; returns how many. */
  sendHostile(kind: keyof typeof HOSTILE_FRAMES): number;
  /** Sends an MO (in parts if long); resolves with each part's answer. */
  sendMo(mo: UcpMoRequest): Promise<SimAnswer[]>;
  /** Sends any OT 01/52/53 with these fields (missing ones empty); resolves with the answer. */
  sendOperation(ot: 1 | 52 | 53, fields: Fields): Promise<SimAnswer>;
  /** Sends an OT 53 for a submit now; resolves with the answer. */
  sendNotification(record: Pick<UcpSubmitRecord, "recipient" | "scts">, outcome: NotifyOutcome, text?: string): Promise<SimAnswer>;
  close(): Promise<void>;
}

interface Peer {
  /** Numbered from 1 in the order connections came. */
  id: number;
  socket: net.Socket;
  loggedIn: boolean;
  /**
   * Our operations to the client by TRN, until their result comes. One whose result timed out
   * keeps its TRN (stale) until the late result comes or STALE_TRN_MS pass, so that a late
   * result is never taken for the answer of a later operation sent with the same TRN.
   */
  pending: Map<number, (answer: SimAnswer) => void>;
  /** Deliveries waiting for a TRN (the window is full), in order; told undefined when the connection closes. */
  waiting: Array<(trn: number | undefined) => void>;
  nextTrn: number;
}

const ANSWER_TIMEOUT_MS = 5_000;
const STALE_TRN_MS = 60_000;
const MAX_TRN = 100;
const NT_FOR: Record<NotifyOutcome, number> = { delivered: 1, failed: 2, buffered: 4 };
const DST_FOR: Record<NotifyOutcome, string> = { delivered: "0", buffered: "1", failed: "2" };

export async function startUcpSmsc(options: UcpSimOptions = {}): Promise<UcpSim> {
  const sim = new EventEmitter() as UcpSim & { port: number };
  sim.on("error", () => undefined);
  const peers = new Set<Peer>();
  const timers = new Set<NodeJS.Timeout>();
  const lastScts = new Map<string, number>();
  let faults = { ...NO_FAULTS };
  let closed = false;
  let nextRef = 0;
  let outbound: Peer | undefined;
  const counters: UcpSimCounters = {
    connections: 0, openConnections: 0, logins: 0, loginsRefused: 0, alerts: 0, submits: 0, accepted: 0, refused: 0,
    inFlight: 0, maxInFlight: 0, notificationsSent: 0, mosSent: 0, answers: { positive: 0, negative: 0, none: 0 }, redeliveries: 0, undelivered: 0, lateAnswers: 0,
  };
  const deliverWindow = options.deliverWindow ?? MAX_TRN;
  if (!Number.isInteger(deliverWindow) || deliverWindow < 1 || deliverWindow > MAX_TRN) throw new RangeError(`deliverWindow must be 1..${MAX_TRN}`);
  const answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const submitted: UcpSubmitRecord[] = [];

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, Math.max(0, ms));
    timers.add(t);
  }

  /** An SCTS no earlier submit to this recipient has: the reference must be unique (§2.5). */
  function sctsFor(recipient: string): string {
    const second = Math.max(Math.floor(Date.now() / 1000), (lastScts.get(recipient) ?? 0) + 1);
    lastScts.set(recipient, second);
    return ucpTime(second * 1000, 0, true);
  }

  function write(peer: Peer, frame: Frame): void {
    if (!peer.socket.destroyed) peer.socket.write(encodeFrame(frame));
  }

  function answer(peer: Peer, op: Frame, fields: string[]): void {
    write(peer, { trn: op.trn, direction: "R", ot: op.ot, fields });
  }

  function attach(socket: net.Socket, asClient: boolean): Peer {
    counters.connections += 1;
    const peer: Peer = { id: counters.connections, socket, loggedIn: asClient, pending: new Map(), waiting: [], nextTrn: 0 };
    const reader = new FrameReader();
    peers.add(peer);
    counters.openConnections += 1;
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      peers.delete(peer);
      counters.openConnections -= 1;
      for (const resolve of [...peer.pending.values()]) resolve("none");
      peer.pending.clear();
      for (const wake of peer.waiting.splice(0)) wake(undefined);
      if (outbound === peer) outbound = undefined;
    });
    socket.on("data", (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (error) {
        sim.emit("protocol-error", (error as Error).message);
        return void socket.destroy();
      }
      for (const d of frames) {
        if (!d.ok) {
          sim.emit("protocol-error", d.reason);
          return void socket.destroy();
        }
        // Every frame a client sent, as text between STX and ETX (test/e2e/kannel-emi.test.ts feeds them to Kannel's decoder).
        sim.emit("frame", frameBody(d.frame));
        if (d.frame.direction === "R") onResult(peer, d.frame);
        else onOperation(peer, d.frame);
      }
    });
    return peer;
  }

  function onResult(peer: Peer, frame: Frame): void {
    // done() or the stale handler frees the TRN.
    peer.pending.get(frame.trn)?.(frame.fields[0] === "A" ? "A" : `N/${frame.fields[1]}`);
  }

  function onOperation(peer: Peer, op: Frame): void {
    const fields = fieldsOf(op);
    if (op.ot === 60) {
      const c = options.credentials;
      const refused = faults.refuseLogin ?? (c && (fields.OADC !== c.username || fields.PWD.toUpperCase() !== iraHex(c.password)) ? "07" : null);
      if (refused) {
        counters.loginsRefused += 1;
        return answer(peer, op, negativeResultFields(refused, ""));
      }
      counters.logins += 1;
      peer.loggedIn = true;
      return answer(peer, op, positiveResultFields(60));
    }
    if (!peer.loggedIn) return answer(peer, op, negativeResultFields("04", "login first"));
    if (op.ot === 31) {
      counters.alerts += 1;
      if (!faults.ignoreAlerts) later(faults.alertDelayMs, () => answer(peer, op, positiveResultFields(31)));
      return;
    }
    if (op.ot !== 51) return answer(peer, op, negativeResultFields("03", ""));
    counters.submits += 1;
    if (faults.ignoreSubmits) return;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    const decide = () => {
      counters.inFlight -= 1;
      // The connection is gone before the result could be written: not accepted, as sim/smsc.ts
      // does. Accepting it would make every submit in flight at a drop one the SMSC took without
      // telling the client, which the client must then send again.
      if (peer.socket.destroyed) return;
      if (faults.negativeNext && faults.negativeNext.count > 0) {
        faults.negativeNext.count -= 1;
        counters.refused += 1;
        return answer(peer, op, negativeResultFields(faults.negativeNext.code, "simulated refusal"));
      }
      if (!/^\d{1,16}$/.test(fields.ADC)) {
        counters.refused += 1;
        return answer(peer, op, negativeResultFields("06", ""));
      }
      const record: UcpSubmitRecord = { fields, recipient: fields.ADC, scts: sctsFor(fields.ADC), at: Date.now(), connection: peer.id };
      counters.accepted += 1;
      if (options.keepSubmitted !== false) submitted.push(record);
      answer(peer, op, positiveResultFields(51, `${record.recipient}:${record.scts}`));
      sim.emit("submit", record);
      scheduleNotification(record);
    };
    // With no delay the result is written as the operation is read, as an SMSC that answers at once does.
    if (faults.responseDelayMs > 0) later(faults.responseDelayMs, decide);
    else decide();
  }

  function scheduleNotification(record: UcpSubmitRecord): void {
    if (record.fields.NRQ !== "1") return;
    const choice = options.notifyOutcome === undefined ? "delivered" : options.notifyOutcome;
    const outcome = typeof choice === "function" ? choice(record.fields) : choice;
    if (!outcome) return;
    const nt = Number(record.fields.NT || "3");
    later(options.notifyDelayMs ?? 1000, () => {
      if (outcome === "buffered" && nt & NT_FOR.buffered) void sim.sendNotification(record, "buffered");
      if (outcome === "buffered" && nt & NT_FOR.delivered) return void later(options.notifyDelayMs ?? 1000, () => void sim.sendNotification(record, "delivered"));
      if (nt & NT_FOR[outcome]) void sim.sendNotification(record, outcome);
    });
  }

  /** Where OT 52/53 go: the receive port when configured, else the first logged-in connection. */
  async function deliveryPeer(): Promise<Peer | undefined> {
    if (!options.deliverTo) return [...peers].find((p) => p.loggedIn && !p.socket.destroyed);
    if (outbound && !outbound.socket.destroyed) return outbound;
    const { host, port } = options.deliverTo;
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      socket.once("connect", () => resolve((outbound = attach(socket, true))));
      socket.once("error", () => resolve(undefined));
    });
  }

  /** Takes the next free TRN (there is one: fewer than deliverWindow ≤ 100 are taken). */
  function allocate(peer: Peer): number {
    while (peer.pending.has(peer.nextTrn)) peer.nextTrn = (peer.nextTrn + 1) % MAX_TRN;
    const trn = peer.nextTrn;
    peer.nextTrn = (trn + 1) % MAX_TRN;
    peer.pending.set(trn, () => undefined);
    return trn;
  }

  /**
   * A TRN for one delivery on this connection, taken at once when the window (§2.6) has room,
   * else handed over by release() in FIFO order; undefined when the connection closed first.
   * Taken synchronously, so deliveries started together cannot all see the same free room.
   */
  function takeTrn(peer: Peer): Promise<number | undefined> {
    if (peer.socket.destroyed) return Promise.resolve(undefined);
    if (peer.waiting.length === 0 && peer.pending.size < deliverWindow) return Promise.resolve(allocate(peer));
    return new Promise((resolve) => peer.waiting.push(resolve));
  }

  /** Frees a TRN and hands one to the first delivery waiting. */
  function release(peer: Peer, trn: number): void {
    if (!peer.pending.delete(trn)) return;
    if (peer.waiting.length > 0 && !peer.socket.destroyed && peer.pending.size < deliverWindow) peer.waiting.shift()?.(allocate(peer));
  }

  async function deliverOnce(ot: OperationType, values: Fields): Promise<SimAnswer> {
    const found = await deliveryPeer();
    if (!found) return "none";
    const peer: Peer = found;
    const taken = await takeTrn(peer);
    if (taken === undefined) return "none";
    const trn: number = taken;
    if (peer.socket.destroyed) {
      release(peer, trn);
      return "none";
    }
    return new Promise<SimAnswer>((resolve) => {
      const timer = setTimeout(() => {
        done("none");
        // The TRN stays taken until the late result comes (ignored then) or for STALE_TRN_MS.
        const stale = setTimeout(() => release(peer, trn), STALE_TRN_MS).unref();
        peer.pending.set(trn, (late) => {
          clearTimeout(stale);
          if (late !== "none") counters.lateAnswers += 1;
          release(peer, trn);
        });
      }, answerTimeoutMs);
      let answered = false;
      function done(result: SimAnswer) {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        if (result !== "none" || peer.socket.destroyed) release(peer, trn);
        const key = result === "A" ? "positive" : result === "none" ? "none" : "negative";
        counters.answers[key] += 1;
        sim.emit("answer", { ot, result });
        resolve(result);
      }
      peer.pending.set(trn, done);
      write(peer, { trn, direction: "O", ot, fields: operationFields(ot, values) });
    });
  }

  function deliver(ot: OperationType, values: Fields): Promise<SimAnswer> {
    return sendUntilAcknowledged(() => deliverOnce(ot, values), (result) => result === "A", {
      redeliverMs: options.redeliverMs,
      wait: (ms) => new Promise<void>((resolve) => later(ms, resolve)),
      closed: () => closed,
      counters,
    });
  }

  const server = options.tls
    ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, (s) => void attach(s, false))
    : net.createServer((s) => void attach(s, false));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  sim.port = (server.address() as net.AddressInfo).port;
  Object.assign(sim, { counters, submitted });

  sim.setFault = (patch) => void (faults = { ...faults, ...patch });
  sim.clearFaults = () => void (faults = { ...NO_FAULTS });
  sim.drop = () => {
    const n = peers.size;
    for (const p of peers) p.socket.destroy();
    return n;
  };
  sim.sendHostile = (kind) => {
    let n = 0;
    for (const p of peers) {
      if (!p.loggedIn || p.socket.destroyed) continue;
      p.socket.write(HOSTILE_FRAMES[kind]);
      n++;
    }
    return n;
  };
  sim.sendOperation = (ot, fields) => deliver(ot, fields);
  sim.sendNotification = (record, outcome, text) => {
    const words = { delivered: "has been delivered", failed: "could not be delivered", buffered: "has been buffered" }[outcome];
    const note = text ?? `Message for ${record.recipient}, with identification ${record.scts} ${words}`;
    counters.notificationsSent += 1;
    return deliver(53, {
      ADC: options.credentials?.username.replace(/\D/g, "") || "0",
      OADC: record.recipient,
      SCTS: record.scts,
      DST: DST_FOR[outcome],
      RSN: outcome === "failed" ? (options.failReason ?? "107") : outcome === "buffered" ? "108" : "000",
      DSCTS: ucpTime(Date.now(), 0, true),
      MT: "3",
      MSG: iraHex(note),
    });
  };
  sim.sendMo = async (mo) => {
    const built = buildSubmit({ id: "", to: mo.to, from: mo.from, text: mo.text }, { notify: false, maxParts: 255, nextReference: () => mo.reference ?? nextRef++ % 256 });
    if (!built.ok) throw new Error(`cannot build the MO: ${built.error.text}`);
    const scts = ucpTime(Date.now(), 0, true);
    let parts = built.operations.map((fields, i): { seq: number; fields: Fields } => ({ seq: i + 1, fields: { ...fields, SCTS: scts } }));
    if (mo.only) parts = parts.filter((p) => mo.only!.includes(p.seq));
    if (mo.reverse) parts.reverse();
    const answers: SimAnswer[] = [];
    for (const part of parts) {
      counters.mosSent += 1;
      if (mo.ot === 1) {
        const f = part.fields;
        answers.push(await deliver(1, { ADC: f.ADC, OADC: f.OADC, MT: f.MT, MSG: f.MSG }));
      } else {
        answers.push(await deliver(52, part.fields));
      }
    }
    return answers;
  };
  sim.close = async () => {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const p of peers) p.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return sim;
}

/** `rapidpro-sms-sim ucp`: the simulator on a port, printing what it sees (sim/cli.ts). */
export async function runUcpCli(values: Record<string, string | boolean | undefined>, port: number | undefined): Promise<() => Promise<void>> {
  const username = values.username as string | undefined;
  const credentials = username ? { username, password: (values.password as string | undefined) ?? "" } : undefined;
  const notify = (values.notify as string | undefined) ?? "delivered";
  if (!["delivered", "failed", "buffered", "none"].includes(notify)) throw new Error(`--notify must be delivered, failed, buffered or none, not ${notify}`);
  const sim = await startUcpSmsc({
    port: port ?? 2776,
    credentials,
    notifyOutcome: notify === "none" ? null : (notify as NotifyOutcome),
    notifyDelayMs: Number(values["notify-delay"] ?? 1000),
    redeliverMs: 10_000,
  });
  console.log(`UCP/EMI SMSC simulator: ucp://127.0.0.1:${sim.port}${credentials ? "" : " (any login)"}`);
  sim.on("submit", (r: UcpSubmitRecord) => console.log(`OT 51 to ${r.recipient} -> ${r.recipient}:${r.scts}`));
  sim.on("answer", (a: { ot: number; result: string }) => console.log(`OT ${a.ot} answered ${a.result}`));
  sim.on("protocol-error", (reason: string) => console.log(`connection closed: ${reason}`));
  let timer: NodeJS.Timeout | undefined;
  if (values["mo-every"]) {
    let n = 0;
    timer = setInterval(() => {
      n++;
      sim.sendMo({ from: values["mo-from"] as string, to: values["mo-to"] as string, text: `MO number ${n} from the simulator` }).catch((e: Error) => console.log(`MO ${n}: ${e.message}`));
    }, Number(values["mo-every"]) * 1000);
  }
  return async () => {
    clearInterval(timer);
    await sim.close();
  };
}
