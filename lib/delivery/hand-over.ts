/**
 * Handing an MO or a status to the flow and waiting for rapidpro-out's acknowledgement
 * (`msg.ack`, lib/pending.ts), as every aggregator's receiving side does it.
 */
import type { AckOutcome, PendingReplies } from "../pending";
import { handOverOf, type HandOver } from "./answers";

const EXPIRED: AckOutcome = { ok: false, temporary: true, reason: "not acknowledged in time" };
const STOPPING: AckOutcome = { ok: false, temporary: true, reason: "the flow is stopping" };

export interface HandOverOptions {
  acks: PendingReplies<AckOutcome>;
  /** The node that holds the acknowledgements, so `releaseHandOvers` can end them. */
  owner: string;
  /** How long the aggregator lets us wait. */
  timeoutMs: number;
  /** False ("answer at once" modes): emitting counts as taken, nothing is held. */
  wait: boolean;
}

/** Emits with an ack token (none when not waiting) and resolves with how the hand-over ended. */
export function handOver(options: HandOverOptions, emit: (ack: string | undefined) => void): Promise<HandOver> {
  if (!options.wait) {
    emit(undefined);
    return Promise.resolve({ kind: "rapidpro" });
  }
  return new Promise<HandOver>((resolve) => {
    const settled = (outcome: AckOutcome) => resolve(outcome === EXPIRED ? { kind: "expired" } : outcome === STOPPING ? { kind: "stopping" } : handOverOf(outcome));
    const token = options.acks.hold(options.owner, settled, options.timeoutMs, () => EXPIRED);
    try {
      emit(token);
    } catch (err) {
      options.acks.settle(token, { ok: false, temporary: true, reason: (err as Error).message });
    }
  });
}

/** Ends every hand-over `owner` still waits for as "the flow is stopping" (call it in `close`). */
export function releaseHandOvers(acks: PendingReplies<AckOutcome>, owner: string): void {
  acks.releaseOwner(owner, () => STOPPING);
}
