/**
 * Sends MTs to one Rapporto account: the shared rate limit, a keep-alive connection pool, and
 * retries of temporary failures inside the time courier waits for its answer. A retry is only
 * made when it cannot deliver the message twice: after a reply that says it was not taken
 * (408 rate exceeded, 503 same partnerMsgId in progress, connection refused), or, after a
 * reply or timeout that leaves it open (500, no answer), only when partnerMsgId makes the
 * resend idempotent ("resends with the same id are sent once and return the same provider id").
 */
import { randomUUID } from "node:crypto";
import type { MT, SubmitResult } from "../contract";
import { Backoff, Sleeps } from "../backoff";
import { submitOnce } from "../delivery/submissions";
import type { CorrelationStore } from "../store/types";
import { DOCUMENTED_RATE_PER_SECOND } from "./codes";
import { HttpClient, HttpTransportError } from "../http/client";
import { buildMtRequest, MtInputError, parseMtReply, partnerMsgIdFor, ptagFor, type MtOptions, type MtReply, type MtRequest } from "./mt";
import { compileProfile, type Account, type CompiledProfile } from "./profile";
import { RateLimiter, RateLimitError } from "./rate";

export interface ClientOptions {
  /** Messages per second for the whole account; default the documented ceiling, 10. */
  ratePerSecond?: number;
  /** One request's time limit. */
  requestTimeoutMs?: number;
  /** Total time for one message, retries included: courier waits about 30 s for its answer. */
  budgetMs?: number;
  /** Send partnerMsgId (the RapidPro id and a digest of the text, partnerMsgIdFor) so a resend is never delivered twice; needs enabling by Rapporto. */
  partnerMsgId?: boolean;
  /** First pause after a temporary failure; doubles each time. */
  backoffMs?: number;
  /** Pause of the whole account after a 408, doubling while 408s continue; default one send interval (a slot frees up in the provider's window). */
  throttlePauseMs?: number;
  /** Largest reply body read. */
  maxReplyBytes?: number;
  maxWaiting?: number;
}

export interface SendOptions extends MtOptions {
  /** Send partnerMsgId (partnerMsgIdFor) with this message; default the client's `partnerMsgId` option. */
  idempotent?: boolean;
}

export interface SendOutcome {
  result: SubmitResult;
  /** HTTP requests made for this message. */
  attempts: number;
  /** Set when the message was accepted but the correlation could not be stored. */
  storeError?: string;
}

const DEFAULTS = {
  requestTimeoutMs: 10_000,
  budgetMs: 25_000,
  backoffMs: 500,
  maxReplyBytes: 64 * 1024,
  maxWaiting: 10_000,
};

/** More than this many 500s in a row: "stop after >10 consecutive 500s and contact support". */
const MAX_CONSECUTIVE_500 = 10;

export class RapportoClient {
  readonly limiter: RateLimiter;
  private readonly account: Account & { profile: CompiledProfile };
  private readonly options: Required<Omit<ClientOptions, "ratePerSecond" | "partnerMsgId" | "throttlePauseMs">> & { partnerMsgId: boolean; throttlePauseMs?: number };
  private readonly http = new HttpClient({ maxSockets: 20 });
  private consecutive500 = 0;
  private throttleStreak = 0;
  private lastPauseAt = 0;
  private closed = false;
  /** Requests of one (id, text) to this account go one at a time. */
  private readonly scope = `rapporto:${randomUUID()}`;
  private readonly sleeps = new Sleeps();

  /** Throws with the reason when the account or profile is not usable. */
  constructor(account: Account, options: ClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(account.url);
    } catch {
      throw new Error("MT URL is not a valid URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`MT URL must be http or https, not ${url.protocol}`);
    if (!account.serviceId) throw new Error("serviceId is required");
    if (!account.pass) throw new Error("pass is required");
    this.account = { ...account, profile: compileProfile(account.profile) };
    this.options = { ...DEFAULTS, ...stripUndefined(options), partnerMsgId: options.partnerMsgId ?? false };
    this.limiter = new RateLimiter(options.ratePerSecond ?? DOCUMENTED_RATE_PER_SECOND, this.options.maxWaiting);
  }

  /**
   * Sends one MT and resolves with the submit result; never rejects. The RapidPro id goes in
   * ptag (when it fits the documented format) and, when enabled, in partnerMsgId.
   */
  async send(mt: MT, options: MtOptions = {}, deadline = Date.now() + this.options.budgetMs): Promise<SendOutcome> {
    const mtOptions: MtOptions = { ...options };
    const id = mt.id === undefined || mt.id === null ? "" : String(mt.id);
    if (mtOptions.ptag === undefined && id) mtOptions.ptag = ptagFor(id);
    if (this.options.partnerMsgId && mtOptions.partnerMsgId === undefined && id) mtOptions.partnerMsgId = partnerMsgIdFor(id, typeof mt.text === "string" ? mt.text : "");
    let request: MtRequest;
    try {
      request = buildMtRequest(this.account, mt, mtOptions);
    } catch (err) {
      const text = err instanceof MtInputError ? err.message : `cannot build request: ${(err as Error).message}`;
      return { result: refused({ accepted: false, code: "input", text, temporary: false }), attempts: 0 };
    }
    const idempotent = mtOptions.partnerMsgId !== undefined;
    let attempts = 0;
    // Doubling without a cap or jitter: the budget (deadline) ends the retries first.
    const backoff = new Backoff({ initialMs: this.options.backoffMs, maxMs: Infinity, floor: 1 });
    for (;;) {
      try {
        await this.limiter.acquire(deadline - 1000);
      } catch (err) {
        const text = err instanceof RateLimitError ? err.message : String(err);
        return { result: refused({ accepted: false, code: "throttled", text, temporary: true, throttled: true }), attempts };
      }
      attempts++;
      const startedAt = Date.now();
      const reply = await this.attempt(request, deadline);
      this.track(reply, startedAt);
      if (reply.accepted) return { result: { accepted: true, parts: 1, smscIds: [reply.id] }, attempts };
      const retryable = reply.temporary && !this.closed && (idempotent || !reply.ambiguous);
      // A 408 already paused the whole account (track); the back-off still advances.
      const wait = backoff.next();
      const pause = reply.throttled ? 0 : wait;
      if (!retryable || Date.now() + pause + 1000 > deadline) return { result: refused(this.explain(reply)), attempts };
      if (pause > 0) await this.sleeps.sleep(pause);
    }
  }

  /**
   * Sends unless it is a resend, and when accepted records Rapporto id → RapidPro id before
   * resolving (lib/delivery/submissions.ts: a request is its id and its text).
   */
  async sendAndRecord(mt: MT, store: CorrelationStore, options: SendOptions = {}, deadline?: number): Promise<SendOutcome> {
    let attempts = 0;
    const id = mt.id === undefined || mt.id === null ? "" : String(mt.id);
    const { idempotent, ...mtOptions } = options;
    const { result, warning } = await submitOnce(this.scope, async () => store, { ...mt, id }, async ({ earlierFailures }) => {
      if ((idempotent ?? this.options.partnerMsgId) && id && mtOptions.partnerMsgId === undefined) {
        mtOptions.partnerMsgId = partnerMsgIdFor(id, typeof mt.text === "string" ? mt.text : "", earlierFailures);
      }
      const outcome = await this.send(mt, mtOptions, deadline);
      attempts = outcome.attempts;
      return { result: outcome.result };
    });
    return { result, attempts, ...(warning ? { storeError: warning } : {}) };
  }

  /** Stops retries and waiting, and closes idle connections. */
  close(): void {
    this.closed = true;
    this.limiter.close();
    this.sleeps.cancel();
    this.http.close();
  }

  private async attempt(request: MtRequest, deadline: number): Promise<MtReply> {
    const timeout = Math.max(1, Math.min(this.options.requestTimeoutMs, deadline - Date.now()));
    try {
      const raw = await this.http.request({ ...request, timeoutMs: timeout, maxResponseBytes: this.options.maxReplyBytes });
      // Redact the reason only: an id may well contain the same digits as the password.
      const reply = parseMtReply(this.account.profile, raw.status, raw.body);
      return reply.accepted ? reply : { ...reply, text: this.redact(reply.text) };
    } catch (err) {
      const e = err instanceof HttpTransportError ? err : new HttpTransportError(String(err), "network", false);
      return { accepted: false, code: e.code, text: this.redact(e.message), temporary: true, ambiguous: !e.notSent };
    }
  }

  private track(reply: MtReply, startedAt: number): void {
    if (!reply.accepted && reply.throttled) {
      // Requests already on their way when we paused say nothing new about the pace.
      if (startedAt < this.lastPauseAt) return;
      this.throttleStreak++;
      this.lastPauseAt = Date.now();
      this.limiter.pause((this.options.throttlePauseMs ?? this.limiter.interval) * 2 ** Math.min(this.throttleStreak - 1, 4));
    } else {
      this.throttleStreak = 0;
    }
    this.consecutive500 = !reply.accepted && reply.code === 500 ? this.consecutive500 + 1 : 0;
  }

  private explain(reply: Exclude<MtReply, { accepted: true }>): Exclude<MtReply, { accepted: true }> {
    if (reply.code === 500 && this.consecutive500 > MAX_CONSECUTIVE_500) {
      return { ...reply, text: `${reply.text} (${this.consecutive500} consecutive 500 replies: Rapporto asks partners to stop and contact support)` };
    }
    return reply;
  }

  /** The provider might echo the request; the password must not reach a log that way. */
  private redact(text: string): string {
    const pass = this.account.pass;
    if (!pass) return text;
    return text.split(pass).join("***").split(encodeURIComponent(pass)).join("***");
  }
}

function refused(reply: Exclude<MtReply, { accepted: true }>): SubmitResult {
  return { accepted: false, parts: 0, smscIds: [], error: { code: reply.code, text: reply.text, temporary: reply.temporary, ...(reply.throttled ? { throttled: true } : {}) } };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
