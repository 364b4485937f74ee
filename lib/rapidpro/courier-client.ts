/**
 * Delivers calls to courier: retries what may succeed later, never what courier refused,
 * keeps calls with the same order key in order, and bounds what it holds.
 *
 * Courier answers 400 for anything its handler refuses (reference §2.1), so a 400 (and any
 * other 4xx but 429) is final. 429, 5xx and transport errors are retried with exponential
 * back-off and jitter until the call's deadline.
 */
import { Backoff, Sleeps, type BackoffOptions } from "../backoff";
import { HttpClient, HttpTransportError } from "../http/client";
import { logLine } from "../text/peer-value";
import { courierUrl, type CourierCall } from "./callbacks";

export interface CourierClientOptions {
  baseUrl: string;
  channelUuid: string;
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number;
  retry?: BackoffOptions;
  /** Calls held at once (waiting, in flight or between retries); more are refused. */
  maxPending?: number;
  /** How long a call is retried when the caller gives no deadline, ms. */
  giveUpAfterMs?: number;
  /** Sockets to courier. */
  maxSockets?: number;
}

/** One request's result. */
type Attempt = { ok: true; status: number } | { ok: false; temporary: boolean; reason: string; status?: number };

/** A call's final result, after every attempt. */
export type CourierOutcome = Attempt & { attempts: number };

export interface SendOptions {
  /** Calls with the same key are made one after another, in the order given. */
  orderKey?: string;
  /** Epoch ms after which the call is not retried any more. */
  deadline?: number;
}

const DEFAULTS = {
  requestTimeoutMs: 15_000,
  retry: { initialMs: 500, maxMs: 30_000 },
  maxPending: 10_000,
  giveUpAfterMs: 10 * 60_000,
};

export class CourierClient {
  private readonly http: HttpClient;
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly sleeps = new Sleeps();
  private held = 0;
  private closed = false;

  constructor(private readonly options: CourierClientOptions) {
    this.http = new HttpClient({ maxSockets: options.maxSockets ?? 32 });
  }

  /** Calls held right now: waiting for their turn, in flight, or between retries. */
  get pending(): number {
    return this.held;
  }

  /** Never rejects: the outcome says whether courier accepted the call, and why not. */
  async send(call: CourierCall, options: SendOptions = {}): Promise<CourierOutcome> {
    if (this.closed) return { ok: false, temporary: true, reason: "courier client closed", attempts: 0 };
    const max = this.options.maxPending ?? DEFAULTS.maxPending;
    if (this.held >= max) {
      return { ok: false, temporary: true, reason: `queue full: ${max} calls to courier already pending`, attempts: 0 };
    }
    this.held++;
    const deadline = options.deadline ?? Date.now() + (this.options.giveUpAfterMs ?? DEFAULTS.giveUpAfterMs);
    try {
      if (options.orderKey === undefined) return await this.deliver(call, deadline);
      const key = options.orderKey;
      const previous = this.tails.get(key) ?? Promise.resolve();
      const mine = previous.then(() => this.deliver(call, deadline));
      this.tails.set(key, mine);
      try {
        return await mine;
      } finally {
        if (this.tails.get(key) === mine) this.tails.delete(key);
      }
    } finally {
      this.held--;
    }
  }

  /** Stops retrying: calls between retries end at once as temporary failures. */
  close(): void {
    this.closed = true;
    this.sleeps.cancel();
    this.http.close();
  }

  private async deliver(call: CourierCall, deadline: number): Promise<CourierOutcome> {
    const url = courierUrl(this.options.baseUrl, this.options.channelUuid, call.action);
    const backoff = new Backoff(this.options.retry ?? DEFAULTS.retry);
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return { ok: false, temporary: true, reason: "courier client closed", attempts: attempt - 1 };
      const result = await this.attempt(url, call.body);
      if (result.ok) return { ...result, attempts: attempt };
      if (!result.temporary) return { ...result, attempts: attempt };
      const delay = backoff.next();
      if (Date.now() + delay > deadline) {
        return { ...result, reason: `gave up after ${attempt} attempts: ${result.reason}`, attempts: attempt };
      }
      await this.sleeps.sleep(delay);
    }
  }

  private async attempt(url: string, body: string): Promise<Attempt> {
    try {
      const res = await this.http.request({
        url,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "node-red-contrib-rapidpro-sms" },
        body,
        timeoutMs: this.options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      });
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      const temporary = res.status === 429 || res.status >= 500;
      return { ok: false, temporary, status: res.status, reason: `courier answered ${res.status}: ${courierError(res.body)}` };
    } catch (err) {
      const code = err instanceof HttpTransportError ? err.code : "EHTTP";
      return { ok: false, temporary: true, reason: `courier unreachable (${code}): ${(err as Error).message}` };
    }
  }
}

/** Courier's error envelope is `{"message":"Error","data":[{"type":"error","error":"…"}]}`. */
/** Courier's reason, escaped and cut: it may quote a value we sent, and it ends up in logs and errors. */
function courierError(body: string): string {
  return logLine(courierReason(body), 200);
}

function courierReason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string; data?: Array<{ error?: string }> };
    const errors = (parsed.data ?? []).map((d) => d.error).filter(Boolean);
    if (errors.length > 0) return errors.join("; ");
    if (parsed.message) return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body || "(empty body)";
}
