/**
 * The sending side of a UCP/EMI bind, independent of Node-RED: an MT becomes its OT 51
 * operations (lib/ucp/submit.ts), goes through the bind's session unless it is a resend
 * (lib/delivery/submissions.ts), and comes back as the submit result for courier. Each part
 * is stored under its correlation key (recipient, SCTS) from the positive result
 * `A//<ADC>:<SCTS>/` (aggregator-protocols.md §2.2), which the OT 53 notification repeats as
 * its OAdC and SCTS. ucp-out is thin glue over this class, as smpp-out is over
 * lib/smpp/sender.ts.
 */
import { mtOriginator } from "../delivery/addresses";
import { partsSubmitted, readyToSubmit, refused, submitOnce, type SubmissionOutcome } from "../delivery/submissions";
import type { ReferenceBits } from "../sms/udh";
import type { CorrelationStore } from "../store/types";
import type { Fields } from "./operations";
import type { SubmitOutcome } from "./session";
import { buildSubmit, correlationKey, type TextAlphabet, type UcpSubmitOptions } from "./submit";

/** What the sender needs of a bind (ucp-bind gives it). */
export interface UcpLink {
  id: string;
  session?: { submit(fields: Fields, options?: { deadline?: number }): Promise<SubmitOutcome> };
  configError?: string;
  /** MT 3 alphabet of the bind: GSM 03.38 codes or IRA. */
  alphabet: TextAlphabet;
  /** The SMSC's clock offset from UTC, minutes (VP, DDT). */
  utcOffsetMinutes?: number;
  store(): Promise<CorrelationStore>;
}

/** ucp-out's settings as the editor saves them (strings or numbers). */
export interface UcpOutConfig {
  /** "8" or "16": concatenation reference width. */
  referenceBits?: string | number;
  maxParts?: string | number;
  /** Ask for "buffered" notifications too (non-final, "sent" to RapidPro). */
  notifyBuffered?: boolean;
  /** Minutes; empty: the SMSC's default. */
  validity?: string | number;
  /** Minutes of deferred delivery; empty: at once. */
  defer?: string | number;
  /** Smart encoding (typographic quotes and dashes to GSM); default on. */
  smart?: boolean;
  /** Sender for MTs without `from`; empty: the SMSC's default (empty OAdC). */
  sender?: string;
}

/** Per-message settings a flow may give in `msg.ucp`, over the node's. */
export interface PerMessage {
  /** Minutes. */
  validity?: number;
  /** Minutes. */
  defer?: number;
  notifyBuffered?: boolean;
}

const isSet = (value: string | number | undefined): value is string | number => value !== undefined && value !== "";

export function ucpSubmitOptions(config: UcpOutConfig, link: Pick<UcpLink, "alphabet" | "utcOffsetMinutes">): UcpSubmitOptions {
  const options: UcpSubmitOptions = {
    alphabet: link.alphabet,
    utcOffsetMinutes: link.utcOffsetMinutes,
    smart: config.smart !== false,
    referenceBits: (Number(config.referenceBits) === 16 ? 16 : 8) as ReferenceBits,
    notifyBuffered: config.notifyBuffered === true,
  };
  if (Number(config.maxParts) > 0) options.maxParts = Number(config.maxParts);
  if (isSet(config.validity) && Number(config.validity) > 0) options.validityMinutes = Number(config.validity);
  if (isSet(config.defer) && Number(config.defer) > 0) options.deferMinutes = Number(config.defer);
  return options;
}

/** `msg.ucp` settings over the node's; buildSubmit refuses values out of range with a reason. */
function withMessageSettings(options: UcpSubmitOptions, perMessage: unknown): UcpSubmitOptions {
  if (!perMessage || typeof perMessage !== "object") return options;
  const m = perMessage as PerMessage;
  return {
    ...options,
    ...(m.validity !== undefined ? { validityMinutes: Number(m.validity) } : {}),
    ...(m.defer !== undefined ? { deferMinutes: Number(m.defer) } : {}),
    ...(m.notifyBuffered !== undefined ? { notifyBuffered: m.notifyBuffered === true } : {}),
  };
}

export class UcpSender {
  private readonly options: UcpSubmitOptions;
  private readonly sender: string | undefined;

  constructor(private readonly link: UcpLink, config: UcpOutConfig) {
    this.options = ucpSubmitOptions(config, link);
    this.sender = config.sender;
  }

  /**
   * Submits every part of the MT in `payload`; accepted only when every one was, the first
   * failure gives the error. The correlation is stored before this resolves, so a
   * notification that follows finds it. Never rejects.
   */
  send(payload: unknown, perMessage?: unknown, deadline?: number): Promise<SubmissionOutcome> {
    const ready = readyToSubmit(payload, this.link, "ucp-bind");
    if ("refusal" in ready) return Promise.resolve(ready.refusal);
    const { mt, session } = ready;
    const from = mtOriginator(mt.from, this.sender);
    const built = buildSubmit({ ...mt, from }, withMessageSettings(this.options, perMessage));
    if (!built.ok) return Promise.resolve({ result: refused(built.error) });
    return submitOnce(this.link.id, () => this.link.store(), mt, async () => {
      const outcomes = await Promise.all(built.operations.map((fields) => session.submit(fields, { deadline })));
      // A result without ADC:SCTS (logged by the session) is kept under its SM as it came.
      return partsSubmitted(outcomes.map((o) => (o.ok ? { ok: true, smscId: o.messageId, key: o.recipient && o.scts ? correlationKey(o.recipient, o.scts) : o.messageId } : o)));
    });
  }
}
