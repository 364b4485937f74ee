/**
 * What the bridge counts, per connection to an aggregator (smpp-bind, rapporto-account, and
 * any later kind) and per RapidPro channel. Plain numeric fields: the hot path adds to a
 * field of an object it got once, and lib/metrics/registry.ts reads them when scraped.
 */
import type { SubmitResult } from "../contract";
import type { ReceiptHandling } from "../delivery/receipts";
import type { DlrHandling } from "../rapporto/receiver";
import { LatencyHistogram } from "./histogram";

/**
 * A connection's state as the sidebar and `rapidpro_sms_connection_state` show it: a fixed
 * set, whatever the protocol calls its own states.
 */
export const CONNECTION_STATES = ["up", "connecting", "reconnecting", "throttled", "down", "misconfigured"] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** Refusal classes of an MT (lib/contract.ts SubmitError: `throttled`, else `temporary`, else permanent). */
export const REFUSAL_CLASSES = ["temporary", "throttled", "permanent"] as const;
export type RefusalClass = (typeof REFUSAL_CLASSES)[number];

/**
 * How a receipt met its message: `matched` at the first lookup, `early` only after waiting for
 * the correlation write it overtook, `unmatched` never.
 */
export const RECEIPT_OUTCOMES = ["matched", "early", "unmatched"] as const;
export type ReceiptOutcome = (typeof RECEIPT_OUTCOMES)[number];

/** Live readings a connection gives when asked (scrape or sidebar), never pushed per message. */
export interface ConnectionProbe {
  state(): ConnectionState;
  /** Submits sent and not yet answered. */
  inFlight(): number;
  /** Why it is not up, when it is not (no secrets: the session's own lastError text). */
  detail?(): string | undefined;
}

export function refusalClass(error: { temporary: boolean; throttled?: boolean } | undefined): RefusalClass {
  if (error?.throttled) return "throttled";
  return error?.temporary ? "temporary" : "permanent";
}

/** What became of an MT, from its final answer (`msg.submit`). */
export function mtOutcome(result: SubmitResult): "accepted" | "repeat" | RefusalClass {
  if (result.repeat) return "repeat";
  return result.accepted ? "accepted" : refusalClass(result.error);
}

/**
 * A session's state (the names lib/smpp/session.ts uses, and nodes/shared/bind.ts shows) as a
 * connection state.
 */
export function connectionState(session: { state: string; throttled: boolean }): ConnectionState {
  switch (session.state) {
    case "bound":
      return session.throttled ? "throttled" : "up";
    case "reconnecting":
      return "reconnecting";
    case "closing":
    case "closed":
      return "down";
    default:
      return "connecting";
  }
}

/**
 * How a receipt the delivery core handled (lib/delivery/receipts.ts) met its message; undefined
 * when it was not looked up to the end (the flow stopping, the store failing): not counted.
 */
export function receiptOutcome(handling: ReceiptHandling): ReceiptOutcome | undefined {
  switch (handling.kind) {
    case "reported":
    case "no-change":
      return handling.early ? "early" : "matched";
    case "not-yet":
      return "early";
    case "unmatched":
      return "unmatched";
    default:
      return undefined;
  }
}

/**
 * The same for a Rapporto DLR push (lib/rapporto/receiver.ts): `report` and `no-change` met
 * their message, `retry-later` came before its correlation (Rapporto pushes it again),
 * `unknown` never met one.
 */
export function dlrOutcome(kind: DlrHandling["kind"]): ReceiptOutcome | undefined {
  if (kind === "report" || kind === "no-change") return "matched";
  if (kind === "retry-later") return "early";
  if (kind === "unknown") return "unmatched";
  return undefined;
}

export class ConnectionCounters {
  mtReceived = 0;
  mtAccepted = 0;
  mtRepeats = 0;
  readonly mtRefused: Record<RefusalClass, number> = { temporary: 0, throttled: 0, permanent: 0 };
  readonly submitLatency = new LatencyHistogram();
  throttlePauses = 0;
  reconnects = 0;
  readonly receipts: Record<ReceiptOutcome, number> = { matched: 0, early: 0, unmatched: 0 };
  moReceived = 0;
  moHandedOver = 0;
  probe?: ConnectionProbe;

  constructor(
    readonly kind: string,
    readonly id: string,
    public name: string,
  ) {}

  /** One MT's final answer (what the out node puts in `msg.submit`). */
  mtAnswered(result: SubmitResult): void {
    this.mtReceived++;
    const outcome = mtOutcome(result);
    if (outcome === "repeat") this.mtRepeats++;
    else if (outcome === "accepted") this.mtAccepted++;
    else this.mtRefused[outcome]++;
  }

  receipt(outcome: ReceiptOutcome): void {
    this.receipts[outcome]++;
  }

  state(): ConnectionState {
    return this.probe?.state() ?? "down";
  }
}

/** Answers given to courier's MT requests, by what became of the message. */
export const MT_ANSWERS = ["accepted", "repeat", "temporary", "throttled", "permanent", "timeout"] as const;
export type MtAnswer = (typeof MT_ANSWERS)[number];

/** HTTP status classes of courier's answers; "network" when no answer came. */
export const CALL_STATUSES = ["2xx", "3xx", "4xx", "5xx", "network"] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const CALL_ACTIONS = ["receive", "status", "stopped"] as const;
export type CallAction = (typeof CALL_ACTIONS)[number];

export function callStatus(status: number | undefined): CallStatus {
  if (status === undefined || !(status >= 200 && status < 600)) return "network";
  return `${Math.floor(status / 100)}xx` as CallStatus;
}

/** A durable outbox as the channel counts it; read when scraped. */
export interface OutboxProbe {
  depth(): Promise<number>;
  /** Epoch ms the oldest waiting item was queued, if any waits. */
  oldestAt(): Promise<number | undefined>;
}

export class ChannelCounters {
  mtRequests = 0;
  readonly mtAnswers: Record<MtAnswer, number> = { accepted: 0, repeat: 0, temporary: 0, throttled: 0, permanent: 0, timeout: 0 };
  /** calls[action][status] */
  readonly calls: Record<CallAction, Record<CallStatus, number>> = {
    receive: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, network: 0 },
    status: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, network: 0 },
    stopped: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, network: 0 },
  };
  readonly callLatency = new LatencyHistogram();
  outbox?: OutboxProbe;
  /** Set while the channel's config is unusable. */
  configError?: string;

  constructor(
    readonly id: string,
    public name: string,
  ) {}

  /** One answer to courier's MT request; without a result, the flow did not answer in time. */
  mtAnswered(result: SubmitResult | undefined): void {
    this.mtAnswers[result ? mtOutcome(result) : "timeout"]++;
  }

  call(action: string, status: number | undefined, seconds: number): void {
    const byStatus = this.calls[action as CallAction];
    if (byStatus) byStatus[callStatus(status)]++;
    this.callLatency.observe(seconds);
  }
}
