/**
 * The partner side of Rapporto's pushes, independent of any HTTP framework: given where a
 * request came from and its parameters, decide the answer and what to hand on. The
 * rapporto-mo and rapporto-dlr nodes are thin glue over these two classes.
 */
import type { Status } from "../contract";
import { AllowList, refusalReason } from "../net/allowlist";
import { describeHandOver, type HandOver } from "../delivery/answers";
import { ReceiptDesk, type PartReceipt, type ReceiptStore } from "../delivery/receipts";
import { DLR_ANSWERS, parseDlrPush, type DlrPush } from "./dlr";
import { rapidproIdOfPartnerMsgId } from "./mt";
import { moAnswer, parseMoPush, verifyMoSignature, type MoOutcome, type MoPush, type PushAnswer, type PushParams } from "./mo";
import { OnceWindow } from "./once";
import { checkTimeZone } from "./time";
import { controlCharacterRefusal, logLine, quoted, shown } from "../text/peer-value";

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

/** MO parameters that are message texts: they keep their control characters (a text may hold a line break). */
const MO_TEXT_PARAMS: ReadonlySet<string> = new Set(["message"]);
const NO_TEXT_PARAMS: ReadonlySet<string> = new Set();

/**
 * Longest parameter name or non-text value accepted. Rapporto's are short (ids, numbers,
 * dates, codes; the `hash` is 44 characters); a longer one is not Rapporto's and would only
 * fill logs and answers.
 */
export const MAX_PARAM_CHARS = 256;

/**
 * Why a push is refused for a control character (CR, LF, NUL, the rest of C0 and C1), or a
 * length over MAX_PARAM_CHARS, in a parameter name or in a value that is not a message text:
 * ids, numbers, dates and codes never hold one, and such a value could forge a log line
 * further on (issue #14).
 */
export function pushParamRefusal(params: PushParams, texts: ReadonlySet<string>): string | undefined {
  for (const [name, value] of Object.entries(params)) {
    const nameRefusal = controlCharacterRefusal("a parameter name", name);
    if (nameRefusal) return nameRefusal;
    if (name.length > MAX_PARAM_CHARS) return `a parameter name is ${name.length} characters long, over the ${MAX_PARAM_CHARS} allowed: ${quoted(name)}`;
    if (texts.has(name) || value === undefined) continue;
    for (const v of typeof value === "string" ? [value] : value) {
      const refusal = controlCharacterRefusal(`parameter ${shown(name, 32)}`, v);
      if (refusal) return refusal;
      if (v.length > MAX_PARAM_CHARS) return `parameter ${shown(name, 32)} is ${v.length} characters long, over the ${MAX_PARAM_CHARS} allowed: ${quoted(v)}`;
    }
  }
  return undefined;
}

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
    const control = pushParamRefusal(request.params, MO_TEXT_PARAMS);
    if (control) return { kind: "malformed", note: control, answer: moAnswer({ kind: "malformed", reason: control }) };
    const parsed = parseMoPush(request.params, { timeZone: this.options.timeZone });
    if (!parsed.ok) {
      const reason = logLine(parsed.reason, 200);
      return { kind: "malformed", note: reason, answer: moAnswer({ kind: "malformed", reason }) };
    }
    const push = parsed.value;
    if (this.options.signatureKey) {
      const check = verifyMoSignature(push.params, this.options.signatureKey);
      if (!check.ok) return { kind: "refused", note: logLine(check.reason, 200), answer: moAnswer({ kind: "refused", reason: "forbidden" }), push };
    }
    try {
      const { value, repeat } = await this.once.run(push.messageId, () => this.deliver(push));
      return repeat ? { ...value, kind: "duplicate", note: `messageId ${quoted(push.messageId)} seen before`, push } : value;
    } catch (err) {
      const note = `could not hand on: ${logLine((err as Error).message, 200)}`;
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
    if (outcome.kind === "not-handed-on" || outcome.kind === "rejected") return { kind: "not-handed-on", answer, push, note: logLine(outcome.reason, 200) };
    return { kind: "handed-on", answer, push };
  }
}

export interface DlrReceiverOptions extends SourceRules {
  /** Pushes of an unknown id answered 400 before it is given up on (1 = give up at once). */
  maxTries: number;
  /** How long one push waits for an unknown id's correlation write (it may have overtaken the MT reply). */
  waitMs?: number;
  /** How long pushes of one unknown id are counted. */
  windowMs?: number;
}

/** How the flow took a status: `ok` once it is safe (RapidPro accepted it or it is queued durably). */
export interface HandOnResult {
  ok: boolean;
  reason?: string;
}

export interface DlrHandlers {
  /** Emit on the first output and resolve with how the hand-over ended. */
  status(status: Status, dlr: DlrPush): Promise<HandOver | HandOnResult>;
  /** Emit on the second output (unknown after every try). */
  unknown(dlr: DlrPush): void;
}

export interface DlrHandling {
  answer: PushAnswer;
  kind: "report" | "no-change" | "retry-later" | "unknown" | "malformed" | "store-error" | "refused" | "not-handed-on";
  note?: string;
  status?: Status;
}

/** Within the 10 s Rapporto waits for an answer, the hand-over (9 s at most) needs the most. */
const DEFAULT_DLR_WAIT_MS = 500;

type DlrReceipt = PartReceipt & { dlr: DlrPush };

/**
 * One DLR push: source check, parsing, then the delivery core's receipt rules
 * (lib/delivery/receipts.ts): a known id reports its message's status and is answered 200 once
 * the status is safe; an unknown one is answered 400 until `maxTries` pushes, then the RapidPro
 * id is taken from ptag or partnerMsgId where the MT carried one, else the second output.
 */
export class DlrReceiver {
  private readonly desk: ReceiptDesk<DlrReceipt>;

  constructor(private readonly options: DlrReceiverOptions, store: ReceiptStore, handlers: DlrHandlers) {
    this.desk = new ReceiptDesk<DlrReceipt>(
      async () => store,
      { waitMs: options.waitMs ?? DEFAULT_DLR_WAIT_MS, lookups: 1, giveUpAfterMs: options.windowMs ?? 24 * 60 * 60 * 1000, giveUpAfterDeliveries: options.maxTries },
      {
        handOver: async (status, r) => asHandOver(await handlers.status(status, r.dlr)),
        fallback: (r) => {
          const id = r.dlr.ptag ?? (r.dlr.partnerMsgId === undefined ? undefined : rapidproIdOfPartnerMsgId(r.dlr.partnerMsgId));
          if (id === undefined) return undefined;
          const status: Status = { id, status: r.dlr.status, smscId: r.dlr.transactionId };
          if (r.dlr.reason !== undefined) status.reason = r.dlr.reason;
          return status;
        },
        unmatched: (r) => handlers.unknown(r.dlr),
      },
    );
  }

  async handle(request: PushRequest): Promise<DlrHandling> {
    const refusal = sourceRefusal(this.options, request);
    if (refusal) return { kind: "refused", note: refusal, answer: plain(403, "forbidden") };
    const control = pushParamRefusal(request.params, NO_TEXT_PARAMS);
    if (control) return { kind: "malformed", note: control, answer: plain(400, control) };
    const parsed = parseDlrPush(request.params);
    if (!parsed.ok) {
      // The reason may quote a parameter whole: escaped and cut in the note and the answer alike.
      const reason = logLine(parsed.reason, 200);
      return { kind: "malformed", note: reason, answer: plain(400, reason) };
    }
    const dlr = parsed.value;
    const handling = await this.desk.handle({ messageId: dlr.transactionId, keys: [dlr.transactionId], state: dlr.status, reason: dlr.reason, dlr });
    const answer = plain(DLR_ANSWERS[handling.answer], handling.answer === "again" ? "temporary failure" : handling.answer === "not-yet" ? "unknown transactionId" : "OK");
    switch (handling.kind) {
      case "reported":
        if (handling.answer === "taken" || handling.answer === "refused") return { kind: "report", answer, status: handling.status, note: handling.answer === "refused" ? describeHandOver(handling.handOver) : undefined };
        return { kind: "not-handed-on", note: describeHandOver(handling.handOver), answer, status: handling.status };
      case "no-change":
        return { kind: "no-change", answer };
      case "not-yet":
        return { kind: "retry-later", note: `transactionId ${quoted(dlr.transactionId)} not known yet (try ${handling.deliveries})`, answer };
      case "unmatched":
        return { kind: "unknown", note: `transactionId ${quoted(dlr.transactionId)} unknown after ${this.options.maxTries} tries`, answer };
      case "stopping":
        return { kind: "store-error", note: "the flow is stopping", answer };
      case "store-error":
        return { kind: "store-error", note: logLine(handling.reason, 200), answer };
    }
  }

  /** Ends the waits of pushes still looking for their message (they are answered 500). */
  close(): void {
    this.desk.close();
  }
}

function asHandOver(result: HandOver | HandOnResult): HandOver {
  if ("kind" in result) return result;
  return result.ok ? { kind: "rapidpro" } : { kind: "temporary", reason: result.reason ?? "not handed on" };
}
