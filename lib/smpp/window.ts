/**
 * The SMPP side of the submit window (lib/session/window.ts holds the window itself: queue,
 * in flight, attempts, throughput cap, throttling pause). This file says what a
 * submit_sm_resp means for it, by the status policy (command-status.ts): ESME_ROK accepts
 * with its message_id; a throttling status (ESME_RTHROTTLED, ESME_RMSGQFUL) pauses the
 * window and re-queues the refused submit (smpp-and-gateways.md §3.1); any other status
 * settles it, temporary or permanent; a submit_sm that cannot be encoded fails at once.
 */
import type * as smpp from "smpp";
import type { SubmitError } from "../contract";
import { SubmitWindow as Window, type SendResult, type WindowOptions as SessionWindowOptions } from "../session/window";
import { classifyStatus, describeStatus, statusText, type StatusPolicy } from "./command-status";
import { InvalidPduError, responseStatus, type LogFn } from "./link";

export type SubmitOutcome =
  | { ok: true; messageId: string; commandStatus: number; attempts: number }
  | { ok: false; commandStatus?: number; error: SubmitError; attempts: number };

export interface SubmitOptions {
  /** Epoch ms after which the submit is no longer sent (it fails as temporary). */
  deadline?: number;
}

/** Failures the session refuses before the window, as data: code, meaning and class. */
const LOCAL_FAILURES = {
  CLOSED: { text: "the SMPP session closed before the SMSC accepted the message", temporary: true },
  NOT_TRANSMITTER: { text: "this bind is receive-only and cannot submit", temporary: false },
} as const;
export type LocalFailure = keyof typeof LOCAL_FAILURES;

export function localFailure(code: LocalFailure, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}

export interface WindowOptions extends SessionWindowOptions {
  policy: StatusPolicy;
}

/** What the window needs from its owner (the session). */
export interface WindowHooks {
  /** Sends one submit_sm on the current link; `done` is called once with its response or loss. */
  send(params: smpp.PduParams, done: (error: Error | undefined, pdu?: smpp.PDU) => void): void;
  /** Whether there is a bound link to send on right now. */
  canSend(): boolean;
  /** A shown state changed: throttled (with the reason), or the window full with submits waiting. */
  onState(state: { throttled: boolean; windowFull: boolean; lastError?: string }): void;
  /** Why the bind last failed or paused, for a submit that expires waiting. */
  lastError(): string | undefined;
  log: LogFn;
}

type Accepted = { messageId: string; commandStatus: number };

export class SubmitWindow {
  private readonly window: Window<smpp.PduParams, Accepted>;

  constructor(o: WindowOptions, hooks: WindowHooks) {
    const sender = {
      ready: () => hooks.canSend(),
      send: (params: smpp.PduParams, done: (result: SendResult<Accepted>) => void) => hooks.send(params, (error, pdu) => done(sendResult(o.policy, error, pdu))),
    };
    this.window = new Window(o, sender, { onChange: (state) => hooks.onState(state), log: (level, text) => hooks.log(level, text), lastError: () => hooks.lastError() }, "SMPP");
  }

  get inFlight(): number {
    return this.window.inFlight;
  }

  get queued(): number {
    return this.window.queued;
  }

  /** Queues a submit_sm. Never rejects. */
  async offer(params: smpp.PduParams, options: SubmitOptions = {}): Promise<SubmitOutcome> {
    const outcome = await this.window.offer(params, options.deadline);
    if (outcome.ok || outcome.code === undefined) return outcome as SubmitOutcome;
    const { code, ...rest } = outcome;
    return { ...rest, commandStatus: code as number };
  }

  /** Sends queued submits while the window, the bucket and any throttling pause allow. */
  pump(): void {
    this.window.pump();
  }

  /** Fails everything queued as CLOSED and sends nothing more; submits in flight still complete. */
  close(): void {
    this.window.close();
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    return this.window.waitIdle(timeoutMs);
  }
}

/** What one submit_sm's response (or its loss) means for the window. */
function sendResult(policy: StatusPolicy, error: Error | undefined, pdu?: smpp.PDU): SendResult<Accepted> {
  if (error instanceof InvalidPduError) return { kind: "failed", code: "INVALID_PDU", text: `the submit_sm could not be encoded (${error.message})`, temporary: false };
  if (error || !pdu) return { kind: "lost", reason: error?.message ?? "no response" };
  const status = responseStatus(pdu, "submit_sm_resp");
  const kind = classifyStatus(status, policy);
  if (kind === "ok") return { kind: "accepted", result: { messageId: typeof pdu.message_id === "string" ? pdu.message_id : "", commandStatus: status } };
  const refusal: SubmitError = {
    code: status,
    text: `${describeStatus(status)}: ${statusText(status)}`,
    temporary: kind !== "permanent",
    ...(kind === "throttling" ? { throttled: true } : {}),
  };
  return { kind: "refused", code: status, error: refusal, throttling: kind === "throttling", reason: describeStatus(status) };
}
