/**
 * The sending side of an SMPP bind, independent of Node-RED: an MT becomes its submit_sm PDUs
 * (lib/smpp/submit.ts), goes through the bind's session unless it is a resend
 * (lib/delivery/submissions.ts), and comes back as the submit result for courier. smpp-out is
 * thin glue over this class.
 */
import type { MT } from "../contract";
import { mtOriginator } from "../delivery/addresses";
import { partsSubmitted, readyToSubmit, refused, submitOnce, type SubmissionOutcome } from "../delivery/submissions";
import type { EncodingPreference } from "../sms/alphabet";
import type { Concatenation } from "../sms/segment";
import type { CorrelationStore } from "../store/types";
import { submitIdKey, type MessageIdMode } from "./receipt";
import type { SubmitOptions, SubmitOutcome } from "./session";
import { buildSubmitSm, type SubmitSmOptions, type SubmitSmParams } from "./submit";

/** What the sender needs of a bind (smpp-bind gives it). */
export interface SmppLink {
  id: string;
  session?: { submit(pdu: SubmitSmParams, options?: SubmitOptions): Promise<SubmitOutcome> };
  configError?: string;
  idMode: MessageIdMode;
  store(): Promise<CorrelationStore>;
}

/** smpp-out's settings as the editor saves them (strings or numbers). */
export interface SmppOutConfig {
  encoding?: string;
  smart?: boolean;
  split?: string;
  maxParts?: string | number;
  registeredDelivery?: string | number;
  validity?: string | number;
  priority?: string | number;
  sourceTon?: string | number;
  sourceNpi?: string | number;
  /** Sender for MTs without `from`; empty: the SMSC's default (empty source_addr). */
  sender?: string;
}

/** Per-message settings a flow may give in `msg.smpp`, over the node's. */
export interface PerMessage {
  registeredDelivery?: number;
  /** Minutes. */
  validity?: number;
  priority?: number;
}

const ENCODINGS: readonly EncodingPreference[] = ["auto", "ucs2", "latin1", "ia5"];
const SPLITS: readonly Concatenation[] = ["udh8", "udh16", "sar", "payload"];

const isSet = (value: string | number | undefined): value is string | number => value !== undefined && value !== "";

export function submitOptions(config: SmppOutConfig): SubmitSmOptions {
  const validity = Number(config.validity);
  const options: SubmitSmOptions = {
    encoding: ENCODINGS.includes(config.encoding as EncodingPreference) ? (config.encoding as EncodingPreference) : "auto",
    smart: config.smart !== false,
    split: SPLITS.includes(config.split as Concatenation) ? (config.split as Concatenation) : "udh8",
    maxParts: Number(config.maxParts) > 0 ? Number(config.maxParts) : undefined,
    registeredDelivery: isSet(config.registeredDelivery) ? Number(config.registeredDelivery) : 1,
    validityMinutes: validity > 0 ? validity : undefined,
    priority: isSet(config.priority) ? Number(config.priority) : undefined,
  };
  if (isSet(config.sourceTon) || isSet(config.sourceNpi)) {
    options.source = { ton: isSet(config.sourceTon) ? Number(config.sourceTon) : undefined, npi: isSet(config.sourceNpi) ? Number(config.sourceNpi) : undefined };
  }
  return options;
}

/** `msg.smpp` settings over the node's; buildSubmitSm refuses values out of range with a reason. */
function withMessageSettings(options: SubmitSmOptions, perMessage: unknown): SubmitSmOptions {
  if (!perMessage || typeof perMessage !== "object") return options;
  const m = perMessage as PerMessage;
  return {
    ...options,
    ...(m.registeredDelivery !== undefined ? { registeredDelivery: Number(m.registeredDelivery) } : {}),
    ...(m.validity !== undefined ? { validityMinutes: Number(m.validity) } : {}),
    ...(m.priority !== undefined ? { priority: Number(m.priority) } : {}),
  };
}

/** When an MT's parts were handed to the session (epoch ms), and seconds until the last was answered. */
export interface SubmitTiming {
  sentAt: number;
  seconds: number;
}

export class SmppSender {
  private readonly options: SubmitSmOptions;
  private readonly sender: string | undefined;

  /**
   * `onSubmitted` sees every part's outcome (metrics and the message trace,
   * nodes/shared/observe.ts), with when the parts were handed to the session and how long
   * until the last was answered: timed here, once per MT, rather than by a wrapper around each
   * session.submit (a promise, a closure and a field added to every outcome).
   */
  constructor(
    private readonly link: SmppLink,
    config: SmppOutConfig,
    private readonly onSubmitted?: (mt: MT, outcomes: readonly SubmitOutcome[], timing: SubmitTiming) => void,
  ) {
    this.options = submitOptions(config);
    this.sender = config.sender;
  }

  /**
   * Submits every SMS of the MT in `payload`; accepted only when every one was, the first
   * failure gives the error. The correlation is stored before this resolves, so a receipt that
   * follows finds it. Never rejects.
   */
  send(payload: unknown, perMessage?: unknown, deadline?: number): Promise<SubmissionOutcome> {
    const ready = readyToSubmit(payload, this.link, "smpp-bind");
    if ("refusal" in ready) return Promise.resolve(ready.refusal);
    const { mt, session } = ready;
    const built = buildSubmitSm({ ...mt, from: mtOriginator(mt.from, this.sender) }, withMessageSettings(this.options, perMessage));
    if (!built.ok) return Promise.resolve({ result: refused(built.error) });
    const pdus = built.pdus;
    return submitOnce(this.link.id, () => this.link.store(), mt, async () => {
      const sentAt = Date.now();
      const started = performance.now();
      const options = { deadline };
      // Every part at once; most MTs are one SMS, which needs no Promise.all.
      const outcomes = pdus.length === 1 ? [await session.submit(pdus[0], options)] : await Promise.all(pdus.map((pdu) => session.submit(pdu, options)));
      this.onSubmitted?.(mt, outcomes, { sentAt, seconds: (performance.now() - started) / 1000 });
      return partsSubmitted(outcomes.map((o) => (o.ok ? { ok: true, smscId: o.messageId, key: submitIdKey(o.messageId, this.link.idMode) } : o)));
    });
  }
}
