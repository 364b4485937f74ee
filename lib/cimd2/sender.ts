/**
 * The sending side of a CIMD2 connection, independent of Node-RED: an MT becomes its op 03
 * parameter sets (lib/cimd2/submit.ts), goes through the bind's session unless it is a resend
 * (lib/delivery/submissions.ts), and comes back as the submit result for courier. Each part is
 * stored under its correlation key (`060` service centre timestamp, `021` destination) from the
 * 53 response, which the op 23 status report repeats (aggregator-protocols.md §3.5).
 * cimd2-out is thin glue over this class, as smpp-out is over lib/smpp/sender.ts.
 */
import { mtOriginator } from "../delivery/addresses";
import { partsSubmitted, readyToSubmit, refused, submitOnce, type SubmissionOutcome } from "../delivery/submissions";
import type { ReferenceBits } from "../sms/udh";
import type { CorrelationStore } from "../store/types";
import type { Parameter } from "./packet";
import type { SubmitOptions, SubmitOutcome } from "./session";
import { buildSubmit, type Cimd2SubmitOptions } from "./submit";

/** What the sender needs of a bind (cimd2-bind gives it). */
export interface Cimd2Bind {
  id: string;
  session?: { submit(params: Parameter[], options?: SubmitOptions): Promise<SubmitOutcome> };
  configError?: string;
  /** Kannel's `no-dlr`: send no `056` at all, for SMSCs that refuse it. */
  omitStatusReportRequest?: boolean;
  store(): Promise<CorrelationStore>;
}

/** cimd2-out's settings as the editor saves them (strings or numbers). */
export interface Cimd2OutConfig {
  /** "auto" (GSM when it fits, else UCS-2) or "ucs2". */
  encoding?: string;
  smart?: boolean;
  /** "8" or "16": concatenation reference width. */
  referenceBits?: string | number;
  maxParts?: string | number;
  /** Minutes; empty: the SMSC's default. */
  validity?: string | number;
  /** Minutes of delay before the first delivery; empty: at once. */
  delay?: string | number;
  /** Sender for MTs without `from`; empty: the SMSC's default (no `023`/`027`). */
  sender?: string;
}

/** Per-message settings a flow may give in `msg.cimd2`, over the node's. */
export interface PerMessage {
  /** Minutes. */
  validity?: number;
  /** Absolute validity `051`, YYMMDDhhmmss in the SMSC's time. */
  validityAbsolute?: string;
  /** Minutes. */
  delay?: number;
  /** Scheduled delivery `054`, YYMMDDhhmmss in the SMSC's time. */
  deliverAt?: string;
}

const isSet = (value: string | number | undefined): value is string | number => value !== undefined && value !== "";

export function cimd2SubmitOptions(config: Cimd2OutConfig, bind: Pick<Cimd2Bind, "omitStatusReportRequest">): Cimd2SubmitOptions {
  const options: Cimd2SubmitOptions = {
    encoding: config.encoding === "ucs2" ? "ucs2" : "auto",
    smart: config.smart !== false,
    referenceBits: (Number(config.referenceBits) === 16 ? 16 : 8) as ReferenceBits,
    omitStatusReportRequest: bind.omitStatusReportRequest === true,
  };
  if (Number(config.maxParts) > 0) options.maxParts = Number(config.maxParts);
  if (isSet(config.validity) && Number(config.validity) > 0) options.validityMinutes = Number(config.validity);
  if (isSet(config.delay) && Number(config.delay) > 0) options.deliveryDelayMinutes = Number(config.delay);
  return options;
}

/**
 * `msg.cimd2` settings over the node's; buildSubmit refuses values out of range with a reason.
 * An absolute time given per message replaces the node's relative one of the same kind.
 */
function withMessageSettings(options: Cimd2SubmitOptions, perMessage: unknown): Cimd2SubmitOptions {
  if (!perMessage || typeof perMessage !== "object") return options;
  const m = perMessage as PerMessage;
  const out = { ...options };
  if (m.validity !== undefined) out.validityMinutes = Number(m.validity);
  if (m.validityAbsolute !== undefined) {
    out.validityAbsolute = String(m.validityAbsolute);
    if (m.validity === undefined) delete out.validityMinutes;
  }
  if (m.delay !== undefined) out.deliveryDelayMinutes = Number(m.delay);
  if (m.deliverAt !== undefined) {
    out.deliverAt = String(m.deliverAt);
    if (m.delay === undefined) delete out.deliveryDelayMinutes;
  }
  return out;
}

export class Cimd2Sender {
  private readonly options: Cimd2SubmitOptions;
  private readonly sender: string | undefined;

  constructor(private readonly bind: Cimd2Bind, config: Cimd2OutConfig) {
    this.options = cimd2SubmitOptions(config, bind);
    this.sender = config.sender;
  }

  /**
   * Submits every part of the MT in `payload`; accepted only when every one was, the first
   * failure gives the error. The correlation is stored before this resolves, so a report that
   * follows finds it. Never rejects.
   */
  send(payload: unknown, perMessage?: unknown, deadline?: number): Promise<SubmissionOutcome> {
    const ready = readyToSubmit(payload, this.bind, "cimd2-bind");
    if ("refusal" in ready) return Promise.resolve(ready.refusal);
    const { mt, session } = ready;
    const built = buildSubmit({ ...mt, from: mtOriginator(mt.from, this.sender) }, withMessageSettings(this.options, perMessage));
    if (!built.ok) return Promise.resolve({ result: refused(built.error) });
    return submitOnce(this.bind.id, () => this.bind.store(), mt, async () => {
      const outcomes = await Promise.all(built.packets.map((params) => session.submit(params, { deadline })));
      // The key is the SMS's id for courier too: CIMD2 gives no other.
      return partsSubmitted(outcomes.map((o) => (o.ok ? { ok: true, smscId: o.key, key: o.key } : o)));
    });
  }
}
