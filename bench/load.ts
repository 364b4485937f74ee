/**
 * Sends MT to the bridge the way courier's EX channel does: POST to the Send URL with the
 * channel's Authorization header, every message with its own uuid, bodies alternating
 * between RapidPro's default urlencoded template and a JSON one (escaped as courier
 * escapes them, with the helpers of sim/courier), over many keep-alive connections.
 *
 * Closed loop by default (`connections` requests outstanding, the next one sent when one
 * is answered: the bridge sets the pace), or open loop at `rate` per second (sent on a
 * schedule whatever the bridge does, latency counted from the scheduled moment so a slow
 * reply cannot hide the requests queued behind it). Always bounded by count and deadline.
 * Requests go over plain keep-alive sockets (see ConnectionPool), not Node's http client.
 */
import net from "node:net";
import { randomUUID } from "node:crypto";
import { DEFAULT_SEND_BODY, jsonEscape, queryEscape } from "../sim/courier";
import { countError, now, Samples, type ErrorCounts } from "./stats";

export const JSON_SEND_BODY = '{"uuid":{{uuid}},"text":{{text}},"to":{{to}},"from":{{from}},"channel":{{channel}}}';

export interface MtLoadOptions {
  /** The bridge's Send URL, e.g. http://127.0.0.1:1880/rapidpro/send */
  url: string;
  authorization: string;
  channelUuid: string;
  count: number;
  connections: number;
  /** Open loop at this many requests per second; unset for closed loop. */
  rate?: number;
  /** Epoch ms after which nothing new is sent (outstanding requests still finish, within their timeout). */
  deadline: number;
  /** Told each message's uuid and send time (for matching its status calls later). */
  onSend?: (uuid: string, sentAt: number) => void;
  /** Where answered requests go; a new one when unset (a caller may watch its count live). */
  ok?: Samples;
}

export interface MtLoadResult {
  startedAt: number;
  sent: number;
  /** Answered 200: latency from send (or scheduled send) to the end of the reply. */
  ok: Samples;
  errors: ErrorCounts;
}

const REQUEST_TIMEOUT_MS = 30_000; // courier gives up on a send after 30 s

/** One message's request: method, headers and body as courier would build them. */
export function buildRequest(i: number, uuid: string, channelUuid: string): { body: string; contentType: string } {
  const values = {
    uuid,
    text: `Bench message ${i}: hello & welcome, reply +1 to stop`,
    to: `+2507883${String(i % 100_000).padStart(5, "0")}`,
    from: "2020",
    channel: channelUuid,
  };
  if (i % 2 === 0) {
    const v = { ...values, to_no_plus: values.to.slice(1), from_no_plus: values.from };
    return { body: render(DEFAULT_SEND_BODY, v, queryEscape), contentType: "application/x-www-form-urlencoded" };
  }
  return { body: render(JSON_SEND_BODY, values, jsonEscape), contentType: "application/json" };
}

function render(template: string, values: Record<string, string>, escape: (s: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => escape(values[name] ?? ""));
}

export async function runMtLoad(options: MtLoadOptions): Promise<MtLoadResult> {
  const pool = new ConnectionPool(new URL(options.url), options.connections);
  const ok = options.ok ?? new Samples(options.count);
  const errors: ErrorCounts = {};
  const startedAt = now();
  let sent = 0;

  /** Sends message `i`; resolves when it is answered or failed (never rejects). */
  const send = async (i: number, scheduledAt: number): Promise<void> => {
    const uuid = randomUUID();
    const { body, contentType } = buildRequest(i, uuid, options.channelUuid);
    options.onSend?.(uuid, scheduledAt);
    const head =
      `POST ${pool.path} HTTP/1.1\r\nHost: ${pool.host}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nAuthorization: ${options.authorization}\r\nUser-Agent: Courier/26.3\r\n\r\n`;
    const outcome = await pool.request(head + body);
    if (outcome === 200) {
      const t = now();
      ok.add(t - scheduledAt, t);
    } else countError(errors, typeof outcome === "number" ? `http ${outcome}` : outcome);
  };

  try {
    if (options.rate) await openLoop(options, send, () => sent++);
    else {
      const lane = async () => {
        while (sent < options.count && Date.now() < options.deadline) {
          const i = sent++;
          await send(i, now());
        }
      };
      await Promise.all(Array.from({ length: options.connections }, lane));
    }
  } finally {
    pool.destroy();
  }
  return { startedAt, sent, ok, errors };
}

/**
 * HTTP/1.1 keep-alive connections, one request at a time on each (as courier's Go client
 * does: no pipelining), written and read with plain sockets. Node's http client cost the
 * harness about 0.2 CPU s per 1,000 requests, on the same two cores as the bridge it measures;
 * the bytes on the wire are the same. Requests wait for a free connection, like an Agent's
 * maxSockets queue. An answer is its status code, or an error kind when there was none.
 */
class ConnectionPool {
  readonly host: string;
  readonly path: string;
  private readonly idle: Connection[] = [];
  private readonly waiting: ((connection: Connection) => void)[] = [];
  private readonly all = new Set<Connection>();
  private destroyed = false;

  constructor(private readonly target: URL, private readonly size: number) {
    this.host = target.host;
    this.path = target.pathname + target.search;
  }

  async request(bytes: string): Promise<number | string> {
    if (this.destroyed) return "pool closed";
    const connection = this.takeIdle() ?? (this.all.size < this.size ? this.open() : await new Promise<Connection>((resolve) => this.waiting.push(resolve)));
    const outcome = await connection.exchange(bytes);
    if (!connection.usable) this.all.delete(connection);
    const next = this.waiting.shift();
    if (next) next(connection.usable ? connection : this.open());
    else if (connection.usable) this.idle.push(connection);
    return outcome;
  }

  destroy(): void {
    this.destroyed = true;
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.length = 0;
  }

  /** An idle connection the server has not closed meanwhile (Node-RED's keep-alive timeout is 5 s). */
  private takeIdle(): Connection | undefined {
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
      if (connection.usable) return connection;
      this.all.delete(connection);
    }
    return undefined;
  }

  private open(): Connection {
    const connection = new Connection(this.target.hostname, Number(this.target.port || 80));
    this.all.add(connection);
    return connection;
  }
}

/** One keep-alive connection; `exchange` writes a request and reads its response to the end. */
class Connection {
  usable = true;
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private settle: ((outcome: number | string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.parse();
    });
    this.socket.on("error", (error: NodeJS.ErrnoException) => this.fail(`network ${error.code ?? error.message}`));
    this.socket.on("close", () => this.fail("network closed"));
  }

  exchange(bytes: string): Promise<number | string> {
    return new Promise((resolve) => {
      if (!this.usable) return resolve("network closed");
      this.settle = resolve;
      this.timer = setTimeout(() => this.fail("timeout"), REQUEST_TIMEOUT_MS);
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.usable = false;
    this.socket.destroy();
  }

  private parse(): void {
    const response = parseResponse(this.buffered);
    if (response === undefined) return;
    if (typeof response === "string") return this.fail(response);
    this.buffered = this.buffered.subarray(response.length);
    if (response.close) this.close();
    this.finish(response.status);
  }

  private fail(kind: string): void {
    this.close();
    this.finish(kind);
  }

  private finish(outcome: number | string): void {
    clearTimeout(this.timer);
    const settle = this.settle;
    this.settle = undefined;
    settle?.(outcome);
  }
}

const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * The first complete response in `bytes`: its status, its length in bytes, and whether the
 * server closes the connection after it; undefined while incomplete; a string when it is not
 * HTTP this client can read. Bodies are skipped, by Content-Length or by chunks.
 */
export function parseResponse(bytes: Buffer): { status: number; length: number; close: boolean } | string | undefined {
  const headEnd = bytes.indexOf(HEAD_END);
  if (headEnd < 0) return bytes.length > 64 * 1024 ? "response head too large" : undefined;
  const lines = bytes.toString("latin1", 0, headEnd).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1];
  if (!status) return `not an HTTP response: ${JSON.stringify(lines[0].slice(0, 40))}`;
  let bodyLength: number | undefined;
  let chunked = false;
  let close = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") bodyLength = Number(value);
    else if (name === "connection") close = value === "close";
    else if (name === "transfer-encoding") chunked = value === "chunked";
  }
  const bodyStart = headEnd + HEAD_END.length;
  let length: number | undefined;
  if (chunked) {
    length = chunkedEnd(bytes, bodyStart);
    if (length === -1) return "malformed chunked body";
  } else {
    if (bodyLength === undefined || !Number.isSafeInteger(bodyLength) || bodyLength < 0) return "response without a Content-Length";
    length = bodyStart + bodyLength;
  }
  return length === undefined || bytes.length < length ? undefined : { status: Number(status), length, close };
}

/** Where a chunked body starting at `at` ends (no trailers), undefined while incomplete, -1 when malformed. */
function chunkedEnd(bytes: Buffer, at: number): number | undefined {
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at, "latin1");
    if (lineEnd < 0) return undefined;
    const size = parseInt(bytes.toString("latin1", at, lineEnd), 16);
    if (!Number.isSafeInteger(size) || size < 0) return -1;
    at = lineEnd + 2 + size + 2;
    if (size === 0) return at;
  }
}

/** Sends on a schedule of `rate`/s, in small batches every 2 ms, until count or deadline. */
async function openLoop(
  options: MtLoadOptions,
  send: (i: number, scheduledAt: number) => Promise<void>,
  take: () => number,
): Promise<void> {
  const rate = options.rate!;
  const t0 = now();
  const outstanding = new Set<Promise<void>>();
  let i = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(options.count, Math.floor(((now() - t0) / 1000) * rate) + 1);
      for (; i < due; i++) {
        take();
        // The moment it should have left, so that a late timer counts against the bridge's latency too.
        const scheduledAt = t0 + (i / rate) * 1000;
        const p = send(i, scheduledAt).finally(() => outstanding.delete(p));
        outstanding.add(p);
      }
      if (i >= options.count || Date.now() >= options.deadline) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await Promise.all(outstanding);
}
