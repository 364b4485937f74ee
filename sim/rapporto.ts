/**
 * A Rapporto HTTP API v5.0 simulator for tests, bench and demos: behaves as the reference
 * describes (aggregator-protocols.md §1.2). It accepts MTs by GET or POST form, answers
 * `OK\n<id>` or XML, refuses with the documented HTTP codes (408 beyond the rate), honours
 * partnerMsgId idempotency, pushes DLRs to the partner's URL after a delay and retries them on
 * 400/500, and pushes MOs on request. It also speaks a legacy partner-specific interface
 * (`msisdn`/`message`/`sn`, reply `ok;<n>;<id>`) for the custom profile.
 *
 * Run alone: `node dist/sim/rapporto.js` (env RAPPORTO_SIM_PORT, RAPPORTO_SIM_DLR_URL,
 * RAPPORTO_SIM_MO_URL, RAPPORTO_SIM_SERVICE_ID, RAPPORTO_SIM_PASS).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SimOptions {
  serviceId?: string;
  pass?: string;
  /** MT path of the v5 interface; the legacy interface answers on `${path}-legacy`. */
  path?: string;
  /** Requests per second before 408 (sliding one-second window). */
  ratePerSecond?: number;
  /** Where DLRs are pushed; none pushed when unset. */
  dlrUrl?: string;
  /** Delay between accepting an MT and pushing its DLR. */
  dlrDelayMs?: number;
  /** Push the first DLR attempt before answering the MT (the receipt overtakes the reply). */
  dlrBeforeReply?: boolean;
  /** DLR status and unifiedExtStatus for a message; default delivered. */
  dlrFor?: (msg: SimMessage) => { status: string; unifiedExtStatus?: string };
  /** Pause between DLR attempts answered other than 200. */
  dlrRetryMs?: number;
  dlrMaxTries?: number;
  /** Where MOs are pushed. */
  moUrl?: string;
  /** Source address of pushes (any 127.x.x.x works on Linux), to test allow-lists. */
  pushFrom?: string;
  /** Extra headers on pushes, e.g. X-Forwarded-For. */
  pushHeaders?: Record<string, string>;
  /** Time a push waits for an answer: "10 s unless agreed". */
  pushTimeoutMs?: number;
}

export interface SimMessage {
  id: string;
  clientId: string;
  message: string;
  source?: string;
  ptag?: string;
  partnerMsgId?: string;
  sendingTime?: string;
  timeZone?: string;
  flash?: boolean;
  at: number;
}

export interface SimRequest {
  at: number;
  method: string;
  params: Record<string, string>;
  status: number;
}

export interface SimDlrAttempt {
  transactionId: string;
  attempt: number;
  /** HTTP status of the partner's answer, or 0 when it did not answer. */
  answer: number;
}

export interface PushResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

type Fault = { kind: "reply"; status: number; body: string } | { kind: "stall"; ms: number } | { kind: "drop" };

const MAX_BODY = 64 * 1024;
const PTAG = /^[0-9a-zA-Z-]{1,50}$/;

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
}

function xmlReply(res: http.ServerResponse, code: number, text: string, id?: string): void {
  const payload = id ? `<payload><id>${id}</id></payload>` : "";
  const body = `<?xml version="1.0" encoding="utf-8"?><response><code>${code}</code><text>${text}</text>${payload}</response>`;
  // "HTTP code is then 200 or 500 only".
  res.writeHead(code === 500 ? 500 : 200, { "content-type": "text/xml; charset=utf-8" }).end(body);
}

export class RapportoSim {
  readonly options: Required<Omit<SimOptions, "dlrUrl" | "moUrl" | "pushFrom" | "pushHeaders" | "dlrFor">> & SimOptions;
  /** Every MT request, in arrival order, with the status it got. */
  readonly requests: SimRequest[] = [];
  /** Every message accepted for sending: one entry per message, never per retry. */
  readonly sent: SimMessage[] = [];
  readonly dlrAttempts: SimDlrAttempt[] = [];
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly served: number[] = [];
  private readonly faults: Fault[] = [];
  private readonly byPartnerMsgId = new Map<string, { id?: string; done: boolean }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pendingDlrs = 0;
  private nextId = 4095284974n;
  private url = "";

  constructor(options: SimOptions = {}) {
    this.options = {
      serviceId: "login",
      pass: "123",
      path: "/login",
      ratePerSecond: 10,
      dlrDelayMs: 200,
      dlrBeforeReply: false,
      dlrRetryMs: 200,
      dlrMaxTries: 10,
      pushTimeoutMs: 10_000,
      ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SimOptions),
    };
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** Listens on 127.0.0.1; port 0 picks a free one. */
  async start(port = 0): Promise<this> {
    // A busy port rejects (EADDRINUSE) instead of crashing the process with an unhandled 'error'.
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => (this.server.off("error", reject), resolve()));
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The v5 MT URL. */
  get mtUrl(): string {
    return `${this.url}${this.options.path}`;
  }

  /** The legacy partner-specific MT URL. */
  get legacyUrl(): string {
    return `${this.url}${this.options.path}-legacy`;
  }

  /** The next MT request gets this reply instead of being processed (not sent). */
  failNext(status: number, body = ""): void {
    this.faults.push({ kind: "reply", status, body });
  }

  /** The next MT request is processed (and sent) but answered only after `ms`. */
  stallNext(ms: number): void {
    this.faults.push({ kind: "stall", ms });
  }

  /** The next MT request is processed (and sent), then the connection is dropped without an answer. */
  dropNext(): void {
    this.faults.push({ kind: "drop" });
  }

  setDlrUrl(url: string | undefined): void {
    this.options.dlrUrl = url;
  }

  setMoUrl(url: string | undefined): void {
    this.options.moUrl = url;
  }

  /** Pushes one MO (GET, as documented) and returns the partner's answer. */
  pushMo(params: Record<string, string>, method: "GET" | "POST" = "GET"): Promise<PushResult> {
    if (!this.options.moUrl) return Promise.reject(new Error("no MO URL set"));
    return this.push(this.options.moUrl, params, method);
  }

  /** Resolves when no DLR push is scheduled or in flight, or after `timeoutMs`. */
  async dlrsSettled(timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.pendingDlrs > 0 && Date.now() < end) await this.delay(20);
    return this.pendingDlrs === 0;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pendingDlrs = 0;
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://sim");
    if (url.pathname === `${this.options.path}-status`) return this.status(url.searchParams, res);
    const legacy = url.pathname === `${this.options.path}-legacy`;
    if (url.pathname !== this.options.path && !legacy) return reply(res, 404, "Not found");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return reply(res, 414, "Request too long");
      const params: Record<string, string> = Object.fromEntries(url.searchParams);
      if (req.method === "POST") for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString("utf8"))) params[k] = v;
      void this.mt(req.method ?? "GET", params, legacy, res);
    });
  }

  private async mt(method: string, params: Record<string, string>, legacy: boolean, res: http.ServerResponse): Promise<void> {
    const entry: SimRequest = { at: Date.now(), method, params, status: 0 };
    this.requests.push(entry);
    const xml = params.output === "xml";
    const answer = (status: number, text: string, id?: string): void => {
      entry.status = status;
      if (res.destroyed) return;
      if (legacy) reply(res, status === 200 ? 200 : status, status === 200 ? `ok;1;${id}` : `error;${text}`);
      else if (xml) xmlReply(res, status, text, id);
      else reply(res, status, status === 200 ? `OK\n${id}` : text);
    };
    // "limit 10 req/s, 12 sent → last 2 get 408": a sliding one-second window of served requests.
    const now = Date.now();
    while (this.served.length > 0 && this.served[0] <= now - 1000) this.served.shift();
    if (this.served.length >= this.options.ratePerSecond) return answer(408, "Rate limit exceeded");
    this.served.push(now);

    const fault = this.faults.shift();
    if (fault?.kind === "reply") return answer(fault.status, fault.body);

    const read = legacy ? this.readLegacy(params) : this.readV5(params);
    if ("error" in read) return answer(read.error[0], read.error[1]);
    const msg = read.msg;

    if (msg.partnerMsgId !== undefined) {
      // "resends with the same id are sent once and return the same provider id"; while the
      // first is still being processed: "503 a request with the same partnerMsgId is still in progress".
      const known = this.byPartnerMsgId.get(msg.partnerMsgId);
      if (known && !known.done) return answer(503, "Request with this partnerMsgId is in progress");
      if (known?.id) return answer(200, "OK", known.id);
    }
    const tracked = msg.partnerMsgId !== undefined ? { done: false } : undefined;
    if (tracked && msg.partnerMsgId !== undefined) this.byPartnerMsgId.set(msg.partnerMsgId, tracked);
    const id = String(this.nextId++);
    const accepted: SimMessage = { ...msg, id, at: now };
    this.sent.push(accepted);
    // The receipt overtakes the reply: its first push is answered before the MT is.
    if (this.options.dlrBeforeReply) await this.scheduleDlr(accepted, 0);
    if (fault?.kind === "stall") await this.delay(fault.ms);
    if (tracked) Object.assign(tracked, { id, done: true });
    if (fault?.kind === "drop") {
      res.socket?.destroy();
      return;
    }
    answer(200, "OK", id);
    if (!this.options.dlrBeforeReply) void this.scheduleDlr(accepted, this.options.dlrDelayMs);
  }

  /**
   * Status polling. Rapporto documents none publicly, so this shape is the simulator's own:
   * `GET <path>-status?serviceId=&pass=&transactionId=` → `status=<0|2|5|9>[;ext=<unifiedExtStatus>]`.
   */
  private status(q: URLSearchParams, res: http.ServerResponse): void {
    if (q.get("serviceId") !== this.options.serviceId || q.get("pass") !== this.options.pass) return reply(res, 401, "Invalid password");
    const msg = this.sent.find((m) => m.id === q.get("transactionId"));
    if (!msg) return reply(res, 404, "unknown transactionId");
    const outcome = this.options.dlrFor?.(msg) ?? { status: "2" };
    reply(res, 200, `status=${outcome.status}${outcome.unifiedExtStatus ? `;ext=${outcome.unifiedExtStatus}` : ""}`);
  }

  /** The polling URL template for this simulator (see `status`). */
  get pollTemplate(): string {
    return `${this.url}${this.options.path}-status?serviceId={serviceId}&pass={pass}&transactionId={transactionId}`;
  }

  private readV5(p: Record<string, string>): { msg: Omit<SimMessage, "id" | "at"> } | { error: [number, string] } {
    if (!p.serviceId || !p.pass) return { error: [400, "Missing serviceId or pass"] };
    if (p.serviceId !== this.options.serviceId || p.pass !== this.options.pass) return { error: [401, "Invalid password"] };
    if (!p.clientId) return { error: [400, "Missing parameter clientId"] };
    if (p.clientId.length > 25) return { error: [400, "Invalid clientId"] };
    if (p.message === undefined || p.message === "") return { error: [400, "Missing parameter message"] };
    if ([...p.message].length > 2000) return { error: [414, "Message too long"] };
    if (p.ptag !== undefined && !PTAG.test(p.ptag)) return { error: [400, "Invalid ptag"] };
    if (p.partnerMsgId !== undefined && (p.partnerMsgId.length < 1 || p.partnerMsgId.length > 50)) return { error: [400, "Invalid partnerMsgId"] };
    if (p.sending_time !== undefined && !/^\d{1,2}_\d{1,2}$/.test(p.sending_time)) return { error: [400, "Invalid sending_time"] };
    if (p.time_zone !== undefined && !/^[+-]\d{2}:\d{2}$/.test(p.time_zone)) return { error: [400, "Invalid time_zone"] };
    return {
      msg: {
        clientId: p.clientId,
        message: p.message,
        source: p.source,
        ptag: p.ptag,
        partnerMsgId: p.partnerMsgId,
        sendingTime: p.sending_time,
        timeZone: p.time_zone,
        flash: p.flash === "1",
      },
    };
  }

  private readLegacy(p: Record<string, string>): { msg: Omit<SimMessage, "id" | "at"> } | { error: [number, string] } {
    if (!p.msisdn) return { error: [400, "no msisdn"] };
    if (!p.message) return { error: [400, "no message"] };
    return { msg: { clientId: p.msisdn, message: p.message, source: p.sn, sendingTime: p.send_time } };
  }

  /** Resolves when the first attempt has been answered (or, with a delay, at once). */
  private scheduleDlr(msg: SimMessage, delayMs: number): Promise<void> {
    const target = this.options.dlrUrl;
    if (!target) return Promise.resolve();
    const outcome = this.options.dlrFor?.(msg) ?? { status: "2" };
    const params: Record<string, string> = { msgType: "SMS", transactionId: msg.id, status: outcome.status };
    if (msg.ptag) params.ptag = msg.ptag;
    if (msg.partnerMsgId) params.partnerMsgId = msg.partnerMsgId;
    if (outcome.unifiedExtStatus) params.unifiedExtStatus = outcome.unifiedExtStatus;
    this.pendingDlrs++;
    const attempt = (n: number): Promise<void> =>
      this.push(target, params, "GET").then(
        (r) => r.status,
        () => 0,
      ).then((status) => {
        this.dlrAttempts.push({ transactionId: msg.id, attempt: n, answer: status });
        // "Partner answers 200 (final) — 400 ... or 500 make the provider retry".
        if (status === 200 || n >= this.options.dlrMaxTries) this.pendingDlrs = Math.max(0, this.pendingDlrs - 1);
        else this.later(this.options.dlrRetryMs, () => void attempt(n + 1));
      });
    if (delayMs <= 0) return attempt(1);
    this.later(delayMs, () => void attempt(1));
    return Promise.resolve();
  }

  private push(target: string, params: Record<string, string>, method: "GET" | "POST"): Promise<PushResult> {
    const form = new URLSearchParams(params).toString();
    const url = method === "GET" ? `${target}${target.includes("?") ? "&" : "?"}${form}` : target;
    const headers: Record<string, string> = { ...this.options.pushHeaders };
    if (method === "POST") headers["content-type"] = "application/x-www-form-urlencoded";
    return new Promise<PushResult>((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: this.options.pushFrom ? undefined : this.agent, localAddress: this.options.pushFrom }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      });
      req.setTimeout(this.options.pushTimeoutMs, () => req.destroy(new Error("push timed out")));
      req.on("error", reject);
      req.end(method === "POST" ? form : undefined);
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }
}

/** Starts a simulator on 127.0.0.1 with a free port. */
export function startRapportoSim(options: SimOptions = {}): Promise<RapportoSim> {
  return new RapportoSim(options).start();
}

if (require.main === module) {
  const sim = new RapportoSim({
    serviceId: process.env.RAPPORTO_SIM_SERVICE_ID,
    pass: process.env.RAPPORTO_SIM_PASS,
    dlrUrl: process.env.RAPPORTO_SIM_DLR_URL,
    moUrl: process.env.RAPPORTO_SIM_MO_URL,
  });
  const port = Number(process.env.RAPPORTO_SIM_PORT ?? 0);
  sim.start(port).then(
    () => console.log(`Rapporto simulator: MT URL ${sim.mtUrl}  serviceId ${sim.options.serviceId}  pass ${sim.options.pass}`),
    (err: NodeJS.ErrnoException) => {
      console.error(err.code === "EADDRINUSE" ? `port ${port} is in use: set RAPPORTO_SIM_PORT to another port` : `cannot start the Rapporto simulator: ${err.message}`);
      process.exit(1);
    },
  );
  process.on("SIGINT", () => void sim.close().then(() => process.exit(0)));
}
