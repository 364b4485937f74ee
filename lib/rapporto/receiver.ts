/**
 * The partner side of Rapporto's pushes, independent of any HTTP framework: given where a
 * request came from and its parameters, decide the answer and what to hand on. The
 * rapporto-mo and rapporto-dlr nodes are thin glue over these two classes.
 */
import type { Status } from "../contract";
import { AllowList, refusalReason } from "../net/allowlist";
import type { CorrelationStore } from "../store/types";
import { DlrResolver, type DlrDecision, type DlrPush } from "./dlr";
import { moAnswer, parseMoPush, verifyMoSignature, type MoOutcome, type MoPush, type PushAnswer, type PushParams } from "./mo";
import { OnceWindow } from "./once";
import { checkTimeZone } from "./time";

export interface PushRequest {
  /** TCP peer address (req.socket.remoteAddress). */
  peer?: string;
  /** The X-Forwarded-For header, believed only from trusted proxies. */
  forwardedFor?: string | string[];
  params: PushParams;
  /** A status this process fetched itself (polling): there is no source to check. */
  internal?: boolean;
}

export interface SourceRules {
  /**
   * Allowed source addresses. Empty or undefined refuses every push: a push endpoint is open
   * to every address only when the list says `*` (until issue #14 an empty list allowed all).
   */
  allowed?: AllowList;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies?: AllowList;
}

function sourceRefusal(rules: SourceRules, request: PushRequest): string | undefined {
  if (request.internal) return undefined;
  return refusalReason(request.peer, request.forwardedFor, rules.allowed ?? NO_SOURCE, { trustedProxies: rules.trustedProxies });
}

const NO_SOURCE = new AllowList("");

const plain = (status: number, body: string): PushAnswer => ({ status, body, contentType: "text/plain; charset=utf-8" });

export interface MoReceiverOptions extends SourceRules {
  /** Zone of `receivedDate`. */
  timeZone: string;
  /** Key for the `hash` signature; when set, pushes without a right hash are refused. */
  signatureKey?: string;
  /** How long a messageId is remembered for duplicate suppression. */
  duplicateWindowMs?: number;
  maxRemembered?: number;
}

export interface MoHandling {
  answer: PushAnswer;
  kind: "handed-on" | "duplicate" | "refused" | "malformed" | "not-handed-on";
  /** Why, for the node's log; never contains the signature key. */
  note?: string;
  push?: MoPush;
}

/**
 * One MO push: refuse a source or signature that is not allowed (403), a request that cannot
 * be read (400); otherwise hand it on once per messageId and answer as `handOn` says.
 */
export class MoReceiver {
  private readonly once: OnceWindow<MoHandling>;

  /** `handOn` emits the MO and resolves when a flow has taken it (or replied); it may reject. */
  constructor(private readonly options: MoReceiverOptions, private readonly handOn: (push: MoPush) => Promise<MoOutcome>) {
    checkTimeZone(options.timeZone);
    // Only answers that tell Rapporto "done" are remembered; a 5xx must let the retry through.
    this.once = new OnceWindow(options.duplicateWindowMs ?? 24 * 60 * 60 * 1000, options.maxRemembered ?? 10_000, (h) => h.answer.status < 500);
  }

  async handle(request: PushRequest): Promise<MoHandling> {
    const refusal = sourceRefusal(this.options, request);
    if (refusal) return { kind: "refused", note: refusal, answer: moAnswer({ kind: "refused", reason: "forbidden" }) };
    const parsed = parseMoPush(request.params, { timeZone: this.options.timeZone });
    if (!parsed.ok) return { kind: "malformed", note: parsed.reason, answer: moAnswer({ kind: "malformed", reason: parsed.reason }) };
    const push = parsed.value;
    if (this.options.signatureKey) {
      const check = verifyMoSignature(push.params, this.options.signatureKey);
      if (!check.ok) return { kind: "refused", note: check.reason, answer: moAnswer({ kind: "refused", reason: "forbidden" }), push };
    }
    try {
      const { value, repeat } = await this.once.run(push.messageId, () => this.deliver(push));
      return repeat ? { ...value, kind: "duplicate", note: `messageId ${push.messageId} seen before`, push } : value;
    } catch (err) {
      const note = `could not hand on: ${(err as Error).message}`;
      return { kind: "not-handed-on", note, answer: moAnswer({ kind: "not-handed-on", reason: "temporary failure" }), push };
    }
  }

  private async deliver(push: MoPush): Promise<MoHandling> {
    let outcome: MoOutcome;
    try {
      outcome = await this.handOn(push);
    } catch (err) {
      outcome = { kind: "not-handed-on", reason: (err as Error).message };
    }
    const answer = moAnswer(outcome.kind === "not-handed-on" ? { kind: "not-handed-on", reason: "temporary failure" } : outcome);
    const kind = outcome.kind === "not-handed-on" ? "not-handed-on" : "handed-on";
    return { kind, answer, push, note: outcome.kind === "not-handed-on" ? outcome.reason : undefined };
  }
}

export interface DlrReceiverOptions extends SourceRules {
  maxTries: number;
}

/** How the flow took a status: `ok` once it is safe (RapidPro accepted it or it is queued durably). */
export interface HandOnResult {
  ok: boolean;
  reason?: string;
}

export interface DlrHandlers {
  /** Emit on the first output and resolve when it is safe. */
  status(status: Status, dlr: DlrPush): Promise<HandOnResult>;
  /** Emit on the second output (unknown after every try). */
  unknown(dlr: DlrPush): void;
}

export interface DlrHandling {
  answer: PushAnswer;
  kind: DlrDecision["kind"] | "refused" | "not-handed-on";
  note?: string;
  decision?: DlrDecision;
}

/** One DLR push: source check, then DlrResolver, then hand on and commit before answering 200. */
export class DlrReceiver {
  private readonly resolver: DlrResolver;

  constructor(private readonly options: DlrReceiverOptions, store: CorrelationStore, private readonly handlers: DlrHandlers) {
    this.resolver = new DlrResolver(store, { maxTries: options.maxTries });
  }

  async handle(request: PushRequest): Promise<DlrHandling> {
    const refusal = sourceRefusal(this.options, request);
    if (refusal) return { kind: "refused", note: refusal, answer: plain(403, "forbidden") };
    const decision = await this.resolver.handle(request.params);
    switch (decision.kind) {
      case "report": {
        let result: HandOnResult;
        try {
          result = await this.handlers.status(decision.status, decision.dlr);
          if (result.ok) await decision.commit?.();
        } catch (err) {
          result = { ok: false, reason: (err as Error).message };
        }
        // Not safe yet: 500 makes Rapporto push it again ("400 ... or 500 make the provider retry").
        if (!result.ok) return { kind: "not-handed-on", note: result.reason, answer: plain(500, "temporary failure"), decision };
        return { kind: "report", answer: decision.answer, decision };
      }
      case "unknown":
        this.handlers.unknown(decision.dlr);
        return { kind: "unknown", note: `transactionId ${decision.dlr.transactionId} unknown after ${this.options.maxTries} tries`, answer: decision.answer, decision };
      case "retry-later":
        return { kind: "retry-later", note: `transactionId ${decision.dlr.transactionId} not known yet (try ${decision.attempt})`, answer: decision.answer, decision };
      case "malformed":
      case "store-error":
        return { kind: decision.kind, note: decision.reason, answer: decision.answer, decision };
      case "no-change":
        return { kind: "no-change", answer: decision.answer, decision };
    }
  }
}
