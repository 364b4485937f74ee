/**
 * An SMSC simulator for tests, benchmarks and demos, built on the `smpp` package's server
 * (a peer the project did not write: aggregator-protocols.md §4.4). It listens on 127.0.0.1,
 * answers binds and submits with unique message ids, sends delivery receipts in SMPP 3.4
 * Appendix B text plus TLVs after a delay, generates MO (long ones as UDH or SAR parts),
 * and injects faults on command: dropped connections, throttling, slow or missing
 * responses, ignored enquire_link, refused binds and hostile bytes.
 *
 * Usage: `const smsc = await startSmsc({ port: 0 }); ... await smsc.close();`
 * CLI:   `node dist/sim/smsc.js [port]` (Ctrl-C to stop).
 */
import { EventEmitter } from "events";
import * as smpp from "smpp";
import { describeStatus } from "../lib/smpp/command-status";
import { sendUntilAcknowledged } from "./store-and-forward";

export type ReceiptStat = "DELIVRD" | "EXPIRED" | "DELETED" | "UNDELIV" | "ACCEPTD" | "UNKNOWN" | "REJECTD" | "ENROUTE";

/** Appendix B `stat` → `message_state` TLV value (SMPP 3.4 §5.2.28) and a typical `err`. */
const RECEIPT_STATES: Record<ReceiptStat, { state: number; err: string }> = {
  ENROUTE: { state: 1, err: "000" },
  DELIVRD: { state: 2, err: "000" },
  EXPIRED: { state: 3, err: "000" },
  DELETED: { state: 4, err: "000" },
  UNDELIV: { state: 5, err: "001" },
  ACCEPTD: { state: 6, err: "000" },
  UNKNOWN: { state: 7, err: "000" },
  REJECTD: { state: 8, err: "002" },
};

const BIND_MODES: Record<string, "transceiver" | "transmitter" | "receiver"> = {
  bind_transceiver: "transceiver",
  bind_transmitter: "transmitter",
  bind_receiver: "receiver",
};

/** Raw byte sequences that break an SMPP reader, by name. */
export const HOSTILE_BYTES: Record<string, Buffer> = {
  /** A header claiming 0x48545450 octets: what an HTTP server's reply looks like to SMPP. */
  oversize: Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n", "ascii"),
  /** command_length 8: shorter than the 16-octet header itself. */
  short: Buffer.from([0, 0, 0, 8, 0, 0, 0, 0x15]),
};

export interface SmscOptions {
  port?: number;
  /** Accepted credentials; when unset, any bind succeeds. */
  credentials?: { systemId: string; password: string };
  /** Delay before a receipt is sent for a submit with registered_delivery. */
  receiptDelayMs?: number;
  /** The receipt's outcome, fixed or per submit; `null` sends no receipts. */
  receiptStat?: ReceiptStat | null | ((pdu: smpp.PDU) => ReceiptStat | null);
  /** Format of the message ids in submit_sm_resp. */
  idFormat?: "decimal" | "hex";
  /** PEM key and certificate: serve SMPP over TLS. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Keep every accepted submit in `submitted` (default true). The benchmark turns it off so
   * that hundreds of thousands of submits do not fill the simulator's own memory.
   */
  keepSubmitted?: boolean;
  /**
   * Store and forward, as a real SMSC does: a deliver_sm (receipt or MO part) that gets no
   * ESME_ROK (no receiver bound, no answer, or an error status) is sent again after this many
   * ms, until it is acknowledged or the simulator closes. Unset: sent once.
   */
  redeliverMs?: number;
  /**
   * Several ESMEs bound at once (instances of one bridge): picks the connection each
   * deliver_sm goes to, from the bound receivers' connection numbers; for a receipt,
   * `submittedOn` is the connection its submit came on. Asked again for each redelivery.
   * Unset: the first bound receiver.
   */
  chooseReceiver?: (choice: { kind: "receipt" | "mo"; receivers: number[]; submittedOn?: number }) => number;
}

export interface SmscFaults {
  /** Delay every submit_sm_resp by this much. */
  responseDelayMs: number;
  /** Never answer submit_sm (the ESME's response timeout must fire). */
  ignoreSubmits: boolean;
  /** Never answer enquire_link (the ESME's keep-alive must notice). */
  ignoreEnquireLink: boolean;
  /** Answer the next N submit_sm with ESME_RTHROTTLED (0x58). */
  throttleNext: number;
  /** Answer the next `count` submit_sm with this status. */
  statusNext: { status: number; count: number } | null;
  /** Refuse binds with this status (0 = accept). */
  refuseBind: number;
  /** Never answer unbind (the ESME's unbind timeout must fire). */
  ignoreUnbind: boolean;
}

const NO_FAULTS: SmscFaults = {
  responseDelayMs: 0,
  ignoreSubmits: false,
  ignoreEnquireLink: false,
  throttleNext: 0,
  statusNext: null,
  refuseBind: 0,
  ignoreUnbind: false,
};

export interface SmscCounters {
  connections: number;
  openConnections: number;
  binds: { transceiver: number; transmitter: number; receiver: number };
  bindsRefused: number;
  submits: number;
  accepted: number;
  refused: number;
  /** Submits received and not yet answered, now and at most. */
  inFlight: number;
  maxInFlight: number;
  enquireLinks: number;
  unbinds: number;
  receiptsSent: number;
  mosSent: number;
  /** deliver_sm_resp statuses received, by status. */
  deliverResps: Record<number, number>;
  /** deliver_sm sent again because an earlier try was not acknowledged (with redeliverMs). */
  redeliveries: number;
  /** deliver_sm not yet acknowledged with ESME_ROK and still to be retried (with redeliverMs). */
  undelivered: number;
}

export interface SubmitRecord {
  messageId: string;
  pdu: smpp.PDU;
  at: number;
  /** The connection (numbered from 1 in accept order) the submit came on. */
  connection?: number;
}

export interface MoRequest {
  from: string;
  to: string;
  text: string;
  /** `gsm` only works for text whose characters share their ASCII codes; default auto. */
  encoding?: "gsm" | "ucs2";
  /** Long messages: UDH with an 8-bit reference (default) or SAR TLVs. */
  concat?: "udh8" | "sar";
  /** Send the parts last-first, to exercise reassembly. */
  reverse?: boolean;
  /** Concatenation reference (default: the next of a counter), e.g. to redeliver one part. */
  reference?: number;
  /** Send only these part numbers (1-based), e.g. a redelivery of the last part. */
  only?: number[];
  /**
   * Told the answer to every try of every part (numbered 1.. in the order sent; -1: no answer came): a ledger can tell how often the
   * bridge may have taken the MO (each try answered ESME_ROK or not at all) from a repeat.
   */
  onTry?: (part: number, status: number) => void;
}

export interface SmscSim extends EventEmitter {
  readonly port: number;
  readonly counters: SmscCounters;
  readonly submitted: SubmitRecord[];
  setFault(faults: Partial<SmscFaults>): void;
  clearFaults(): void;
  /** Destroys every connection without unbind; returns how many. */
  drop(): number;
  /** Writes hostile bytes to every bound connection; returns how many. */
  sendHostile(kind: keyof typeof HOSTILE_BYTES): number;
  /** Writes raw bytes to every bound connection; responses arrive as 'response' events. */
  sendRaw(bytes: Buffer): number;
  /** Sends an MO (in parts if long); resolves with each part's deliver_sm_resp status (-1: none). */
  sendMo(mo: MoRequest): Promise<number[]>;
  /** Sends any request to the first bound ESME; resolves with its response (undefined: none in 5 s). */
  request(command: string, params?: smpp.PduParams): Promise<smpp.PDU | undefined>;
  /** Sends a receipt for a message id now; resolves with the deliver_sm_resp status (-1: none). */
  sendReceipt(messageId: string, stat: ReceiptStat, text?: string): Promise<number>;
  /**
   * An SMSC restart: every connection cut, nothing listening for `downMs`, then the same port
   * again. Accepted submits and undelivered deliver_sm are kept, as a store-and-forward SMSC's
   * disk keeps them, and go out again once an ESME has bound.
   */
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
}

interface Peer {
  /** Numbered from 1 in accept order. */
  id: number;
  session: smpp.Session;
  mode?: "transceiver" | "transmitter" | "receiver";
  /** True while the socket is corked for the current turn of the event loop. */
  corked?: boolean;
}

/**
 * Holds a peer's writes until the end of this turn of the event loop, so the responses to a
 * batch of submits, or the receipts due at the same time, leave in one write, as a busy SMSC
 * sends them. One write per PDU made the simulator the costlier side of the benchmark's
 * SMPP link; the uncork comes in the check phase right after this turn's I/O and timers.
 */
function corkForTurn(peer: Peer): void {
  if (peer.corked) return;
  peer.corked = true;
  const socket = peer.session.socket;
  socket.cork();
  setImmediate(() => {
    peer.corked = false;
    socket.uncork();
  });
}

const ESME_ROK = 0x00;
const ESME_RINVBNDSTS = 0x04;
const ESME_RINVPASWD = 0x0e;
const ESME_RINVSYSID = 0x0f;
const ESME_RTHROTTLED = 0x58;
const DELIVER_RESP_TIMEOUT_MS = 5_000;
/** GSM 03.38 shares these code points with ASCII, so such text needs no table here. */
const GSM_SAFE = /^[A-Za-z0-9 !"#%&'()*+,\-./:;<=>?\n\r]*$/;

export async function startSmsc(options: SmscOptions = {}): Promise<SmscSim> {
  const sim = new EventEmitter() as SmscSim & { port: number };
  const peers = new Set<Peer>();
  const timers = new Set<NodeJS.Timeout>();
  let faults: SmscFaults = { ...NO_FAULTS };
  let nextId = 1_000_000;
  let nextRef = 0;
  const counters: SmscCounters = {
    connections: 0,
    openConnections: 0,
    binds: { transceiver: 0, transmitter: 0, receiver: 0 },
    bindsRefused: 0,
    submits: 0,
    accepted: 0,
    refused: 0,
    inFlight: 0,
    maxInFlight: 0,
    enquireLinks: 0,
    unbinds: 0,
    receiptsSent: 0,
    mosSent: 0,
    deliverResps: {},
    redeliveries: 0,
    undelivered: 0,
  };
  let closed = false;
  const submitted: SubmitRecord[] = [];
  sim.on("error", () => undefined);

  function later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  type DeliverHint = { kind: "receipt" | "mo"; submittedOn?: number };

  function receiver(hint: DeliverHint): Peer | undefined {
    const receivers = [...peers].filter((peer) => peer.mode === "transceiver" || peer.mode === "receiver");
    if (receivers.length <= 1 || !options.chooseReceiver) return receivers[0];
    const chosen = options.chooseReceiver({ ...hint, receivers: receivers.map((p) => p.id) });
    return receivers.find((p) => p.id === chosen) ?? receivers[0];
  }

  /** Sends until acknowledged when redeliverMs is set; resolves with the last answer's status. */
  function deliver(params: smpp.PduParams, hint: DeliverHint, onTry?: (status: number) => void): Promise<number> {
    const once = () => deliverOnce(params, hint).then((status) => (onTry?.(status), status));
    return sendUntilAcknowledged(once, (status) => status === ESME_ROK, {
      redeliverMs: options.redeliverMs,
      wait: (ms) => new Promise<void>((resolve) => later(ms, resolve)),
      closed: () => closed,
      counters,
    });
  }

  function deliverOnce(params: smpp.PduParams, hint: DeliverHint): Promise<number> {
    return new Promise<number>((resolve) => {
      const peer = receiver(hint);
      if (!peer) return resolve(-1);
      let settled = false;
      const done = (status: number) => {
        if (settled) return;
        settled = true;
        counters.deliverResps[status] = (counters.deliverResps[status] ?? 0) + 1;
        resolve(status);
      };
      later(DELIVER_RESP_TIMEOUT_MS, () => done(-1));
      corkForTurn(peer);
      const sent = peer.session.deliver_sm(params, (pdu) => done(pdu.command_status));
      if (!sent) done(-1);
    });
  }

  function receiptFor(record: SubmitRecord, stat: ReceiptStat, text = ""): smpp.PduParams {
    const { state, err } = RECEIPT_STATES[stat];
    const stamp = yymmddhhmm(new Date(record.at));
    const body =
      `id:${record.messageId} sub:001 dlvrd:${stat === "DELIVRD" ? "001" : "000"} ` +
      `submit date:${stamp} done date:${yymmddhhmm(new Date())} stat:${stat} err:${err} Text:${text.slice(0, 20)}`;
    const pdu = record.pdu;
    return {
      source_addr: String(pdu.destination_addr ?? ""),
      destination_addr: String(pdu.source_addr ?? ""),
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(body, "ascii"),
      receipted_message_id: record.messageId,
      message_state: state,
    };
  }

  function onSubmit(peer: Peer, pdu: smpp.PDU): void {
    counters.submits += 1;
    if (peer.mode !== "transceiver" && peer.mode !== "transmitter") {
      peer.session.send(pdu.response({ command_status: ESME_RINVBNDSTS }));
      return;
    }
    if (faults.ignoreSubmits) return;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    let status = ESME_ROK;
    if (faults.throttleNext > 0) {
      faults.throttleNext -= 1;
      status = ESME_RTHROTTLED;
    } else if (faults.statusNext && faults.statusNext.count > 0) {
      faults.statusNext.count -= 1;
      status = faults.statusNext.status;
    }
    later(faults.responseDelayMs, () => {
      counters.inFlight -= 1;
      corkForTurn(peer);
      if (status !== ESME_ROK) {
        counters.refused += 1;
        peer.session.send(pdu.response({ command_status: status }));
        return;
      }
      const messageId = options.idFormat === "hex" ? (nextId++).toString(16).toUpperCase() : String(nextId++);
      if (!peer.session.send(pdu.response({ message_id: messageId }))) return; // connection gone: not accepted
      counters.accepted += 1;
      const record: SubmitRecord = { messageId, pdu, at: Date.now(), connection: peer.id };
      if (options.keepSubmitted !== false) submitted.push(record);
      sim.emit("submit", record);
      scheduleReceipt(record, submittedText(pdu));
    });
  }

  function scheduleReceipt(record: SubmitRecord, text: string): void {
    if (!(Number(record.pdu.registered_delivery ?? 0) & 0x03)) return;
    const choice = options.receiptStat === undefined ? "DELIVRD" : options.receiptStat;
    const stat = typeof choice === "function" ? choice(record.pdu) : choice;
    if (!stat) return;
    later(options.receiptDelayMs ?? 100, () => {
      counters.receiptsSent += 1;
      sim.emit("receipt", { messageId: record.messageId, stat, at: Date.now() });
      void deliver(receiptFor(record, stat, text), { kind: "receipt", submittedOn: record.connection });
    });
  }

  function onBind(peer: Peer, pdu: smpp.PDU): void {
    const creds = options.credentials;
    let status = faults.refuseBind;
    if (!status && creds && pdu.system_id !== creds.systemId) status = ESME_RINVSYSID;
    if (!status && creds && pdu.password !== creds.password) status = ESME_RINVPASWD;
    if (status) {
      counters.bindsRefused += 1;
      peer.session.send(pdu.response({ command_status: status }));
      return;
    }
    peer.mode = BIND_MODES[pdu.command];
    counters.binds[peer.mode] += 1;
    peer.session.send(pdu.response({ system_id: "SIMSMSC" }));
  }

  function onPdu(peer: Peer, pdu: smpp.PDU): void {
    if (pdu.command in BIND_MODES) return onBind(peer, pdu);
    if (pdu.isResponse()) {
      sim.emit("response", pdu); // deliver_sm_resp is also handled by its send callback
      return;
    }
    switch (pdu.command) {
      case "submit_sm":
        return onSubmit(peer, pdu);
      case "enquire_link":
        counters.enquireLinks += 1;
        if (!faults.ignoreEnquireLink) peer.session.send(pdu.response());
        return;
      case "unbind":
        counters.unbinds += 1;
        if (faults.ignoreUnbind) return;
        peer.session.send(pdu.response(), () => peer.session.close());
        peer.mode = undefined;
        return;
      default:
        peer.session.send(pdu.response({ command_status: 0x03 }));
    }
  }

  const serverOptions = options.tls ? { key: options.tls.key, cert: options.tls.cert } : {};
  let down = false;
  const server = smpp.createServer(serverOptions, (session) => {
    if (down) return session.destroy();
    const peer: Peer = { id: counters.connections + 1, session };
    peers.add(peer);
    counters.connections += 1;
    counters.openConnections += 1;
    session.on("error", () => undefined); // a client reset is normal here
    session.socket.setNoDelay(true);
    session.socket.on("close", () => {
      peers.delete(peer);
      counters.openConnections -= 1;
    });
    session.on("pdu", (pdu) => {
      try {
        onPdu(peer, pdu);
      } catch (error) {
        sim.emit("log", `simulator error: ${(error as Error).message}`);
        session.destroy();
      }
    });
  });
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  sim.port = typeof address === "object" && address ? address.port : 0;
  Object.defineProperty(sim, "counters", { value: counters });
  Object.defineProperty(sim, "submitted", { value: submitted });

  sim.setFault = (patch) => {
    faults = { ...faults, ...patch };
  };
  sim.clearFaults = () => {
    faults = { ...NO_FAULTS };
  };
  sim.drop = () => {
    const all = [...peers];
    for (const peer of all) peer.session.destroy();
    return all.length;
  };
  sim.sendRaw = (bytes) => {
    let n = 0;
    for (const peer of peers) {
      if (!peer.mode) continue;
      peer.session.socket.write(bytes);
      n += 1;
    }
    return n;
  };
  sim.sendHostile = (kind) => sim.sendRaw(HOSTILE_BYTES[kind]);
  sim.sendMo = async (mo) => {
    const reference = mo.reference ?? (nextRef = (nextRef + 1) % 256);
    let parts = moParts(mo, reference);
    if (mo.only) parts = parts.filter((_, i) => mo.only?.includes(i + 1));
    if (mo.reverse) parts.reverse();
    const statuses: number[] = [];
    for (const [index, params] of parts.entries()) {
      counters.mosSent += 1;
      statuses.push(await deliver(params, { kind: "mo" }, mo.onTry && ((status) => mo.onTry!(index + 1, status))));
    }
    return statuses;
  };
  sim.request = (command, params = {}) =>
    new Promise<smpp.PDU | undefined>((resolve) => {
      const peer = [...peers].find((p) => p.mode);
      if (!peer) return resolve(undefined);
      later(DELIVER_RESP_TIMEOUT_MS, () => resolve(undefined));
      if (!peer.session.send(new smpp.PDU(command, params), (pdu) => resolve(pdu))) resolve(undefined);
    });
  sim.sendReceipt = (messageId, stat, text) => {
    const record = submitted.find((r) => r.messageId === messageId) ?? {
      messageId,
      pdu: new smpp.PDU("submit_sm", {}),
      at: Date.now(),
    };
    counters.receiptsSent += 1;
    sim.emit("receipt", { messageId, stat, at: Date.now() });
    return deliver(receiptFor(record, stat, text), { kind: "receipt", submittedOn: record.connection });
  };
  sim.restart = async (downMs) => {
    down = true;
    // close() calls back only once every connection is gone, so they are cut first.
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const peer of peers) peer.session.destroy();
    await stopped;
    await new Promise<void>((resolve) => later(downMs, resolve));
    if (closed) return;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(sim.port, "127.0.0.1", () => resolve());
    });
    down = false;
  };
  sim.close = async () => {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const peer of peers) peer.session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return sim;
}

/** The deliver_sm parameter sets for one MO: one, or UDH/SAR parts of 153 septets or 67 UCS-2 units. */
function moParts(mo: MoRequest, ref: number): smpp.PduParams[] {
  const gsm = mo.encoding ? mo.encoding === "gsm" : GSM_SAFE.test(mo.text);
  const units = gsm ? [...mo.text] : splitUtf16(mo.text);
  const single = gsm ? 160 : 70;
  const perPart = gsm ? 153 : 67;
  const chunks: string[] = [];
  if (units.length <= single) chunks.push(mo.text);
  else {
    for (let i = 0; i < units.length; ) {
      let end = Math.min(units.length, i + perPart);
      // never end a UCS-2 part on a high surrogate: the pair stays in one part
      if (!gsm && end < units.length && /[\uD800-\uDBFF]/.test(units[end - 1])) end -= 1;
      chunks.push(units.slice(i, end).join(""));
      i = end;
    }
  }
  return chunks.map((chunk, index) => {
    const body = gsm ? Buffer.from(chunk, "ascii") : Buffer.from(chunk, "utf16le").swap16();
    const base = { source_addr: mo.from, destination_addr: mo.to, data_coding: gsm ? 0 : 8 };
    if (chunks.length === 1) return { ...base, esm_class: 0, short_message: body };
    if (mo.concat === "sar") {
      return {
        ...base,
        esm_class: 0,
        short_message: body,
        sar_msg_ref_num: ref,
        sar_total_segments: chunks.length,
        sar_segment_seqnum: index + 1,
      };
    }
    const udh = Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, index + 1]);
    return { ...base, esm_class: 0x40, short_message: Buffer.concat([udh, body]) };
  });
}

/** The submitted text as the package decoded it, for the receipt's `Text:` field and the CLI's log. */
export function submittedText(pdu: smpp.PDU): string {
  const sm = pdu.short_message as { message?: unknown } | undefined;
  return sm && typeof sm.message === "string" ? sm.message : "";
}

/** A deliver_sm_resp status as printed: its SMPP name, or "no answer" for -1 (none came). */
export function deliverRespName(status: number): string {
  return status < 0 ? "no answer" : describeStatus(status);
}

/** UTF-16 code units as one-character strings (surrogate halves kept apart on purpose). */
function splitUtf16(text: string): string[] {
  const units: string[] = [];
  for (let i = 0; i < text.length; i += 1) units.push(text[i]);
  return units;
}

function yymmddhhmm(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    two(date.getUTCFullYear() % 100) +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes())
  );
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? 2775);
  startSmsc({ port }).then(
    (sim) => {
      console.log(`SMSC simulator listening on 127.0.0.1:${sim.port}`);
      process.once("SIGINT", () => void sim.close().then(() => process.exit(0)));
    },
    (error: NodeJS.ErrnoException) => {
      console.error(error.code === "EADDRINUSE" ? `port ${port} is in use: give another port as the first argument` : `cannot start the SMSC simulator: ${error.message}`);
      process.exit(1);
    },
  );
}
