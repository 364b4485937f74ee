/**
 * What the aggregator is answered for an MO or a receipt, decided once for every protocol.
 *
 * The hand-over of a msg to RapidPro ends in one of a few ways (`HandOver`); HAND_OVER_ANSWER
 * turns each into an abstract answer, and each protocol maps the abstract answer to its own
 * code in one table of its own (`AnswerTable`: lib/smpp/receiver.ts for SMPP command_status,
 * lib/rapporto/receiver.ts for Rapporto's HTTP statuses). A new protocol adds a table.
 */
import type { AckOutcome } from "../pending";

export type HandOver =
  /** RapidPro took it (courier answered 2xx). */
  | { kind: "rapidpro" }
  /** The durable outbox took it; it reaches RapidPro later, after any restart. */
  | { kind: "outbox" }
  /** Not taken for now: RapidPro down or slow, the outbox not writable. */
  | { kind: "temporary"; reason: string }
  /** Refused for good (courier answered 4xx): delivering it again would change nothing. */
  | { kind: "permanent"; reason: string }
  /** The flow is stopping (redeploy, shutdown) while the msg waited. */
  | { kind: "stopping" }
  /** Nobody acknowledged it within the time the aggregator waits. */
  | { kind: "expired" };

/**
 * - `taken`: done, do not deliver it again;
 * - `again`: not taken, deliver it again later;
 * - `refused`: not taken and never will be, do not deliver it again;
 * - `not-yet`: a receipt for a message not known yet (it may have overtaken its submit's
 *   correlation write): deliver it again later.
 */
export type Answer = "taken" | "again" | "refused" | "not-yet";

export const HAND_OVER_ANSWER: Readonly<Record<HandOver["kind"], Answer>> = {
  rapidpro: "taken",
  outbox: "taken",
  temporary: "again",
  permanent: "refused",
  stopping: "again",
  expired: "again",
};

/** A protocol's codes for the abstract answers. */
export type AnswerTable<Code> = Readonly<Record<Answer, Code>>;

/** How rapidpro-out settled a held acknowledgement (lib/pending.ts), as a hand-over outcome. */
export function handOverOf(ack: AckOutcome): HandOver {
  if (ack.ok) return { kind: ack.queued ? "outbox" : "rapidpro" };
  const reason = ack.reason ?? "RapidPro did not take it";
  return ack.temporary === false ? { kind: "permanent", reason } : { kind: "temporary", reason };
}

/** Why a hand-over was not taken, for the node's log. */
export function describeHandOver(handOver: HandOver): string {
  switch (handOver.kind) {
    case "rapidpro":
      return "RapidPro took it";
    case "outbox":
      return "queued in the outbox";
    case "temporary":
    case "permanent":
      return handOver.reason;
    case "stopping":
      return "the flow is stopping";
    case "expired":
      return "not acknowledged in time";
  }
}
