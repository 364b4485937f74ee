/**
 * The message contract between nodes (DESIGN.md, "The message contract"). Every node reads
 * and writes these shapes, so users can wire their own nodes in between.
 */

/** An outgoing message (MT) as `rapidpro-in` emits it in `msg.payload`. */
export interface MT {
  /** What courier sent as `{{uuid}}` or `{{id}}`: the RapidPro message id. */
  id: string;
  /** Destination, E.164 with `+` where courier gave it. */
  to: string;
  /** Sender: the channel address. */
  from: string;
  text: string;
  channel?: string;
  quickReplies?: string[];
  sessionStatus?: string;
}

/** Why a submit failed: `temporary` failures are worth retrying, permanent ones are not. */
export interface SubmitError {
  /** Protocol-specific code, e.g. an SMPP command_status or an HTTP status. */
  code: string | number;
  text: string;
  temporary: boolean;
  /** The aggregator asked us to slow down (SMPP ESME_RTHROTTLED, HTTP 408/429). */
  throttled?: boolean;
}

/** What `smpp-out` and `rapporto-mt` add to the msg as `msg.submit`. */
export interface SubmitResult {
  accepted: boolean;
  parts: number;
  smscIds: string[];
  error?: SubmitError;
  /**
   * Set when courier sent this MT again and the aggregator had already accepted it: the
   * answer comes from the earlier submission (its ids as the correlation store holds them)
   * and nothing was submitted (lib/delivery/submissions.ts: a request is its id and its text).
   */
  repeat?: true;
}

/** An incoming message (MO) as `smpp-in` and `rapporto-mo` emit it in `msg.payload`. */
export interface MO {
  from: string;
  to: string;
  text: string;
  /** ISO 8601 with zone. */
  date: string;
}

export type StatusName = "sent" | "delivered" | "failed";

/** A delivery status as `smpp-in` (DLR output) and `rapporto-dlr` emit it in `msg.payload`. */
export interface Status {
  /** The RapidPro message id found through the correlation store. */
  id: string;
  status: StatusName;
  smscId?: string;
  reason?: string;
}
