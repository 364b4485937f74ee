/**
 * A CIMD2 SMSC simulator for tests, benchmarks and demos (aggregator-protocols.md §3). It
 * listens on 127.0.0.1, checks the login (op 01), answers submits (op 03) with a unique
 * `060` service centre timestamp per destination, sends status reports (op 23) after a delay
 * with a chosen `061` outcome, generates MO (op 20; long ones as `032` UDH parts, UCS-2 in
 * `034`), keeps unanswered or refused deliveries and sends them again (store and forward, the
 * loop sim/store-and-forward.ts shares with the SMPP and UCP/EMI simulators), and injects
 * faults on command: dropped connections, slow or missing responses, error responses, noise
 * between packets and garbage.
 *
 * Deliveries (op 20, op 23) wait for a logged-in connection with room in its delivery window;
 * each goes under an even packet number no unanswered delivery on that connection holds
 * (lib/cimd2/packet.ts's PacketNumbers.takeFree), since the response is matched by number
 * and there are only 128 of them (aggregator-protocols.md §3.2).
 *
 * Usage: `const smsc = await startCimd2Sim({ port: 0 }); … await smsc.close();`
 * CLI:   `rapidpro-sms-sim cimd2 [--port 9971] [--user u --password p]`.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import { sendUntilAcknowledged, type RedeliveryCounters } from "./store-and-forward";
import { buildSubmit } from "../lib/cimd2/submit";
import { decodeCimd2Text } from "../lib/cimd2/text";
import { encodePacket, PacketNumbers, PacketReader, param, params, type DecodedPacket, type Parameter } from "../lib/cimd2/packet";
import { NACK, GENERAL_ERROR_RESPONSE, OP, responseCode, RESPONSE_OFFSET } from "../lib/cimd2/operations";
import { P } from "../lib/cimd2/parameters";

export interface Cimd2SimOptions {
  port?: number;
  /** Accepted login; when unset, any user identity and password log in. */
  credentials?: { username: string; password: string };
  /** Delay before the status report of a submit that asked for one (`056` not 0). */
  reportDelayMs?: number;
  /** The report's `061`, fixed or per submit; `null` sends none. Default 4 (delivered). */
  reportStatus?: number | null | ((submit: Cimd2SubmitRecord) => number | null);
  /** `062` sent with a failed outcome. */
  reportErrorCode?: number;
  /** Send op 20 / 23 again this many ms after it went unanswered or was refused. Unset: once. */
  redeliverMs?: number;
  /** How long an op 20 / 23 waits for its response before it counts as unanswered (default 5000). */
  answerTimeoutMs?: number;
  /**
   * Deliveries sent on one connection before their responses came back (1 to 127, default 64).
   * At most 127, so a free number other than the last one sent is always left: the client takes
   * a request repeating the previous number as a retransmission (§3.2).
   */
  deliverWindow?: number;
  /** Write checksums (default true). */
  checksum?: boolean;
  keepSubmitted?: boolean;
}

export interface Cimd2SimFaults {
  /** Delay every response to a submit. */
  responseDelayMs: number;
  /** Never answer submits (the client's response timeout must fire). */
  ignoreSubmits: boolean;
  /** Never answer op 40 alive. */
  ignoreAlive: boolean;
  /** Answer the next `count` submits with this `900` error code. */
  errorNext: { code: number; count: number } | null;
  /** Refuse logins with this error code (0 accepts). */
  refuseLogin: number;
}

const NO_FAULTS: Cimd2SimFaults = { responseDelayMs: 0, ignoreSubmits: false, ignoreAlive: false, errorNext: null, refuseLogin: 0 };

export interface Cimd2SubmitRecord {
  destination: string;
  timestamp: string;
  params: Parameter[];
  /** The text, read back from `033` or UCS-2 `034`, for assertions. */
  text?: string;
  udh?: string;
  statusReportRequest?: number;
}

export interface Cimd2MoRequest {
  from: string;
  to: string;
  text: string;
  encoding?: "auto" | "ucs2";
  /** Order in which the parts leave, as 0-based part indexes (default in order). */
  order?: number[];
}

export interface Cimd2SimCounters extends RedeliveryCounters {
  logins: number;
  refusedLogins: number;
  submits: number;
  reports: number;
  mo: number;
  answered: number;
  refusedAnswers: number;
  invalid: number;
  connections: number;
  logouts: number;
}

/** One try of an op 20 / 23: resolved with the response ("70", "73 error 710"), "unanswered" or "closed". */
interface Outgoing {
  params: Parameter[];
  op: number;
  resolve: (answer: string) => void;
}

interface Peer {
  socket: net.Socket;
  reader: PacketReader;
  numbers: PacketNumbers;
  loggedIn: boolean;
  /** Deliveries sent on this connection and not yet answered, by packet number. */
  waiting: Map<number, Outgoing>;
}

const DEFAULT_ANSWER_TIMEOUT_MS = 5_000;
const DEFAULT_DELIVER_WINDOW = 64;

/** YYMMDDhhmmss in UTC. */
export function cimd2Time(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

export class Cimd2Sim extends EventEmitter {
  readonly submitted: Cimd2SubmitRecord[] = [];
  readonly counters: Cimd2SimCounters = {
    logins: 0, refusedLogins: 0, submits: 0, reports: 0, mo: 0, answered: 0, refusedAnswers: 0, invalid: 0, connections: 0, logouts: 0, redeliveries: 0, undelivered: 0,
  };
  private faults: Cimd2SimFaults = { ...NO_FAULTS };
  private readonly peers = new Set<Peer>();
  private readonly server: net.Server;
  /** Tries of deliveries waiting for a logged-in peer with room in its window, oldest first. */
  private readonly queue: Outgoing[] = [];
  private readonly window: number;
  private holding = 0;
  /** Last `060` second used per destination, so every (060, 021) pair is unique. */
  private readonly lastSecond = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: Cimd2SimOptions = {}) {
    super();
    this.window = options.deliverWindow ?? DEFAULT_DELIVER_WINDOW;
    if (!Number.isInteger(this.window) || this.window < 1 || this.window > 127) throw new RangeError("deliverWindow must be 1 to 127");
    this.server = net.createServer((socket) => this.accept(socket));
    this.on("error", () => undefined);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Reports and MO not yet answered with a plain 70 / 73 nor given up: queued, in flight or waiting to go again. */
  get held(): number {
    return this.holding;
  }

  get loggedInPeers(): number {
    return [...this.peers].filter((p) => p.loggedIn).length;
  }

  listen(port = this.options.port ?? 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
  }

  setFault(patch: Partial<Cimd2SimFaults>): void {
    this.faults = { ...this.faults, ...patch };
  }

  clearFaults(): void {
    this.faults = { ...NO_FAULTS };
  }

  /** Drops every connection without a word. */
  dropConnections(): void {
    for (const peer of this.peers) peer.socket.destroy();
  }

  /** Writes bytes that are not a packet between packets: the client must ignore them. */
  sendNoise(noise: Buffer = Buffer.from("noise between packets\r\n")): void {
    for (const peer of this.peers) peer.socket.write(noise);
  }

  /** Writes a frame that cannot be read (no operation code): the client must report it. */
  sendGarbage(garbage: Buffer = Buffer.from("\x02garbage\t\x03", "latin1")): void {
    for (const peer of this.peers) peer.socket.write(garbage);
  }

  /** Sends an MO (as parts when long); resolves with each part's answer ("70", or "70 error 710"). */
  sendMo(mo: Cimd2MoRequest): Promise<string[]> {
    const built = buildSubmit({ id: "mo", to: mo.from, from: "", text: mo.text }, { encoding: mo.encoding, omitStatusReportRequest: true });
    if (!built.ok) return Promise.reject(new Error(built.error.text));
    const parts = built.packets.map((part) => [
      { code: P.DESTINATION, value: mo.to },
      { code: P.ORIGINATOR, value: mo.from },
      { code: P.SERVICE_CENTRE_TIMESTAMP, value: cimd2Time(Date.now()) },
      ...part.filter((p) => p.code !== P.DESTINATION),
    ]);
    const order = mo.order ?? parts.map((_, i) => i);
    this.counters.mo += 1;
    return Promise.all(order.map((i) => this.deliver(OP.DELIVER_MESSAGE, parts[i])));
  }

  /** Sends a status report for a submit now. */
  sendReport(submit: Pick<Cimd2SubmitRecord, "destination" | "timestamp">, status: number, errorCode?: number): Promise<string> {
    const report: Parameter[] = [
      { code: P.DESTINATION, value: submit.destination },
      { code: P.SERVICE_CENTRE_TIMESTAMP, value: submit.timestamp },
      { code: P.STATUS_CODE, value: String(status) },
      ...(errorCode !== undefined && status !== 4 ? [{ code: P.STATUS_ERROR_CODE, value: String(errorCode) }] : []),
      { code: P.DISCHARGE_TIME, value: cimd2Time(Date.now()) },
    ];
    this.counters.reports += 1;
    return this.deliver(OP.DELIVER_STATUS_REPORT, report);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const item of this.queue.splice(0)) item.resolve("closed");
    for (const peer of this.peers) {
      for (const item of peer.waiting.values()) item.resolve("closed");
      peer.waiting.clear();
      peer.socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  private accept(socket: net.Socket): void {
    const peer: Peer = { socket, reader: new PacketReader(), numbers: new PacketNumbers("smsc"), loggedIn: false, waiting: new Map() };
    this.peers.add(peer);
    this.counters.connections += 1;
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.peers.delete(peer);
      // Unanswered: the store-and-forward loop sends them again (on the next connection).
      const unanswered = [...peer.waiting.values()];
      peer.waiting.clear();
      for (const item of unanswered) item.resolve("unanswered");
    });
    socket.on("data", (chunk: Buffer) => {
      for (const event of peer.reader.push(chunk)) {
        if (event.kind === "noise") continue;
        if (event.kind === "invalid") {
          this.counters.invalid += 1;
          this.emit("invalid", event.reason);
          if (event.number === undefined) continue;
          if (/^checksum /.test(event.reason)) this.write(peer, NACK, event.number, []);
          else this.write(peer, GENERAL_ERROR_RESPONSE, event.number, errorOf(2, event.reason));
          continue;
        }
        this.onPacket(peer, event.packet);
      }
    });
  }

  private write(peer: Peer, op: number, number: number, parameters: Parameter[]): void {
    if (!peer.socket.writable) return;
    peer.socket.write(encodePacket({ op, number, params: parameters }, { checksum: this.options.checksum !== false }));
  }

  private onPacket(peer: Peer, packet: DecodedPacket): void {
    if (packet.op === NACK) {
      this.emit("nack", packet.number);
      return;
    }
    if (packet.op >= RESPONSE_OFFSET) return this.onAnswer(peer, packet);
    const answer = (parameters: Parameter[] = []) => this.write(peer, responseCode(packet.op), packet.number, parameters);
    switch (packet.op) {
      case OP.LOGIN:
        return this.onLogin(peer, packet, answer);
      case OP.LOGOUT:
        this.counters.logouts += 1;
        answer();
        peer.loggedIn = false;
        peer.socket.end();
        return;
      case OP.ALIVE:
        if (!this.faults.ignoreAlive) answer();
        return;
      case OP.SUBMIT:
        if (!peer.loggedIn) return answer(errorOf(1, "not logged in"));
        return this.onSubmit(packet, answer);
      case OP.ENQUIRE_STATUS:
        return answer([{ code: P.DESTINATION, value: param(packet, P.DESTINATION) ?? "" }, { code: P.SERVICE_CENTRE_TIMESTAMP, value: param(packet, P.SERVICE_CENTRE_TIMESTAMP) ?? cimd2Time(Date.now()) }, { code: P.STATUS_CODE, value: "0" }]);
      case OP.GET:
        return answer([{ code: P.MC_TIME, value: cimd2Time(Date.now()) }]);
      case OP.DELIVERY_REQUEST:
      case OP.CANCEL:
      case OP.SET:
        return answer(errorOf(1, "not supported by the simulator"));
      default:
        this.write(peer, GENERAL_ERROR_RESPONSE, packet.number, errorOf(1, "unexpected operation"));
    }
  }

  private onLogin(peer: Peer, packet: DecodedPacket, answer: (p?: Parameter[]) => void): void {
    const c = this.options.credentials;
    const user = param(packet, P.USER_IDENTITY);
    const refused = this.faults.refuseLogin || (c && (user !== c.username || param(packet, P.PASSWORD) !== c.password) ? 100 : 0);
    this.emit("login", { user, accepted: !refused });
    if (refused) {
      this.counters.refusedLogins += 1;
      return answer(errorOf(refused, refused === 100 ? "invalid login" : "login refused"));
    }
    this.counters.logins += 1;
    peer.loggedIn = true;
    answer();
    this.pump();
  }

  private onSubmit(packet: DecodedPacket, answer: (p?: Parameter[]) => void): void {
    if (this.faults.ignoreSubmits) return;
    const destinations = params(packet, P.DESTINATION);
    const text = param(packet, P.USER_DATA);
    const binary = param(packet, P.USER_DATA_BINARY);
    let error: Parameter[] | undefined;
    if (destinations.length === 0) error = errorOf(300, "no destination address");
    else if (destinations.length > 1) error = errorOf(301, "one destination per submit");
    else if (text !== undefined && binary !== undefined) error = errorOf(303, "both 033 and 034");
    else if (text !== undefined && !decodeCimd2Text(text).ok) error = errorOf(302, "user data syntax");
    else if (this.faults.errorNext && this.faults.errorNext.count > 0) {
      this.faults.errorNext.count -= 1;
      error = errorOf(this.faults.errorNext.code, "error on command");
    }
    if (error) return this.later(this.faults.responseDelayMs, () => answer(error));
    const destination = destinations[0];
    const timestamp = this.uniqueTimestamp(destination);
    const decoded = text !== undefined ? decodeCimd2Text(text) : undefined;
    const record: Cimd2SubmitRecord = {
      destination,
      timestamp,
      params: packet.params,
      text: decoded?.ok ? decoded.text : binary !== undefined && param(packet, P.DATA_CODING_SCHEME) === "8" ? Buffer.from(binary, "hex").swap16().toString("utf16le") : undefined,
      udh: param(packet, P.USER_DATA_HEADER),
      statusReportRequest: param(packet, P.STATUS_REPORT_REQUEST) === undefined ? undefined : Number(param(packet, P.STATUS_REPORT_REQUEST)),
    };
    this.counters.submits += 1;
    if (this.options.keepSubmitted !== false) this.submitted.push(record);
    this.later(this.faults.responseDelayMs, () => {
      answer([{ code: P.DESTINATION, value: destination }, { code: P.SERVICE_CENTRE_TIMESTAMP, value: timestamp }]);
      this.emit("submit", record);
      this.scheduleReport(record);
    });
  }

  private scheduleReport(record: Cimd2SubmitRecord): void {
    if (!record.statusReportRequest) return;
    const chosen = this.options.reportStatus;
    const status = typeof chosen === "function" ? chosen(record) : chosen === undefined ? 4 : chosen;
    if (status === null) return;
    this.later(this.options.reportDelayMs ?? 1000, () => void this.sendReport(record, status, this.options.reportErrorCode ?? 1));
  }

  private uniqueTimestamp(destination: string): string {
    const second = Math.max(Math.floor(Date.now() / 1000), (this.lastSecond.get(destination) ?? 0) + 1);
    this.lastSecond.set(destination, second);
    if (this.lastSecond.size > 100_000) this.lastSecond.delete(this.lastSecond.keys().next().value as string);
    return cimd2Time(second * 1000);
  }

  /** Store and forward: tries until answered with a plain 70 / 73 (with `redeliverMs`), or once. */
  private deliver(op: number, parameters: Parameter[]): Promise<string> {
    const acknowledged = String(responseCode(op));
    this.holding += 1;
    return sendUntilAcknowledged(() => this.deliverOnce(op, parameters), (answer) => answer === acknowledged, {
      redeliverMs: this.options.redeliverMs,
      wait: (ms) => new Promise<void>((resolve) => this.later(ms, resolve)),
      closed: () => this.closed,
      counters: this.counters,
    }).finally(() => (this.holding -= 1));
  }

  /** One try: waits for a peer with room, sends, resolves with the answer or why there was none. */
  private deliverOnce(op: number, parameters: Parameter[]): Promise<string> {
    if (this.closed) return Promise.resolve("closed");
    return new Promise<string>((resolve) => {
      this.queue.push({ op, params: parameters, resolve });
      this.pump();
    });
  }

  /** Sends waiting tries while a logged-in peer has room in its window. */
  private pump(): void {
    while (this.queue.length > 0) {
      const peer = [...this.peers].find((p) => p.loggedIn && !p.socket.destroyed && p.waiting.size < this.window);
      if (!peer) return;
      this.sendTo(peer, this.queue.shift()!);
    }
  }

  private sendTo(peer: Peer, item: Outgoing): void {
    const number = peer.numbers.takeFree((n) => peer.waiting.has(n))!;
    const timer = setTimeout(() => settle("unanswered"), this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS);
    const settle = (answer: string) => {
      clearTimeout(timer);
      if (peer.waiting.get(number) === entry) peer.waiting.delete(number);
      item.resolve(answer);
      this.pump();
    };
    const entry: Outgoing = { op: item.op, params: item.params, resolve: settle };
    peer.waiting.set(number, entry);
    this.write(peer, item.op, number, item.params);
  }

  private onAnswer(peer: Peer, packet: DecodedPacket): void {
    const item = peer.waiting.get(packet.number);
    if (!item || packet.op !== responseCode(item.op)) return;
    const code = param(packet, P.ERROR_CODE);
    if (code === undefined || code === "0") {
      this.counters.answered += 1;
      item.resolve(String(packet.op));
      return;
    }
    this.counters.refusedAnswers += 1;
    this.emit("refused", { op: item.op, code: Number(code), text: param(packet, P.ERROR_TEXT) });
    item.resolve(`${packet.op} error ${code}`);
  }
}

function errorOf(code: number, text: string): Parameter[] {
  return [{ code: P.ERROR_CODE, value: String(code) }, { code: P.ERROR_TEXT, value: text.slice(0, 64).replace(/[^\x20-\x7e]/g, " ") }];
}

export async function startCimd2Sim(options: Cimd2SimOptions = {}): Promise<Cimd2Sim> {
  const sim = new Cimd2Sim(options);
  await sim.listen();
  return sim;
}

/**
 * `rapidpro-sms-sim cimd2`: the simulator on 127.0.0.1 with faults typed on stdin, one per
 * line: `drop`, `slow <ms>`, `ignore`, `error <code> [count]`, `refuse-login <code>`,
 * `noise`, `garbage`, `clear`, `mo <text>`.
 */
export async function runCimd2Cli(args: string[], onStop: (close: () => Promise<unknown>) => void): Promise<void> {
  const { parseArgs } = await import("node:util");
  const { createInterface } = await import("node:readline");
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: "string", default: "9971" },
      user: { type: "string" },
      password: { type: "string", default: "" },
      report: { type: "string", default: "4" },
      "report-delay": { type: "string", default: "1000" },
      redeliver: { type: "string" },
      "mo-every": { type: "string" },
      "mo-from": { type: "string", default: "+250788123123" },
      "mo-to": { type: "string", default: "2020" },
    },
  });
  const sim = await startCimd2Sim({
    port: Number(values.port),
    credentials: values.user ? { username: values.user, password: values.password ?? "" } : undefined,
    reportStatus: values.report === "none" ? null : Number(values.report),
    reportDelayMs: Number(values["report-delay"]),
    redeliverMs: values.redeliver === undefined ? undefined : Number(values.redeliver),
  });
  console.log(`CIMD2 simulator: cimd2://127.0.0.1:${sim.port}${values.user ? "" : " (any user identity and password)"}`);
  sim.on("login", (l: { user?: string; accepted: boolean }) => console.log(`login ${l.user ?? ""}: ${l.accepted ? "accepted" : "refused"}`));
  sim.on("submit", (r: Cimd2SubmitRecord) => console.log(`submit to ${r.destination} -> 060 ${r.timestamp}${r.udh ? ` udh ${r.udh}` : ""}: ${JSON.stringify(r.text ?? "")}`));
  sim.on("refused", (r: { op: number; code: number }) => console.log(`op ${r.op} answered with error ${r.code}`));
  const mo = (text: string) =>
    sim
      .sendMo({ from: values["mo-from"]!, to: values["mo-to"]!, text })
      .then((answers) => console.log(`MO answered: ${answers.join(", ")}`))
      .catch((err: Error) => console.log(`MO: ${err.message}`));
  if (values["mo-every"]) {
    let n = 0;
    const timer = setInterval(() => void mo(`MO number ${++n} from the CIMD2 simulator`), Number(values["mo-every"]) * 1000);
    timer.unref();
  }
  const commands: Record<string, (rest: string[]) => void> = {
    drop: () => sim.dropConnections(),
    slow: ([ms]) => sim.setFault({ responseDelayMs: Number(ms ?? 5000) }),
    ignore: () => sim.setFault({ ignoreSubmits: true }),
    error: ([code, count]) => sim.setFault({ errorNext: { code: Number(code ?? 10), count: Number(count ?? 1) } }),
    "refuse-login": ([code]) => sim.setFault({ refuseLogin: Number(code ?? 100) }),
    noise: () => sim.sendNoise(),
    garbage: () => sim.sendGarbage(),
    clear: () => sim.clearFaults(),
    mo: (words) => void mo(words.join(" ")),
  };
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [name, ...rest] = line.trim().split(/\s+/);
    const command = commands[name];
    if (!name) return;
    if (!command) return console.log(`unknown command "${name}"; try: ${Object.keys(commands).join(", ")}`);
    command(rest);
    console.log(`ok: ${line.trim()}`);
  });
  onStop(() => {
    lines.close();
    return sim.close();
  });
}
