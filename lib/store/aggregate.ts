/**
 * How part receipts add up to one message status. Kept apart from the stores so every
 * implementation (memory, embedded, Redis) applies exactly the same rule.
 */
import type { StatusName } from "../contract";
import type { Correlation, PartState, PartUpdate } from "./types";

/** Order in which a message's status may move; RapidPro overwrites blindly, so never go back. */
const RANK: Record<StatusName, number> = { sent: 1, delivered: 2, failed: 2 };

/**
 * A multi-part message is delivered when every part is, failed as soon as any part failed,
 * and sent once any part is known to be on its way.
 */
export function overallStatus(states: PartState[]): StatusName | undefined {
  if (states.includes("failed")) return "failed";
  if (states.length > 0 && states.every((s) => s === "delivered")) return "delivered";
  if (states.some((s) => s !== "pending")) return "sent";
  return undefined;
}

/**
 * Applies one part's new state to a record in place and says what to report.
 * A final part state (delivered, failed) is never replaced by an earlier one.
 */
export function applyPartState(record: Correlation, index: number, state: PartState, reason?: string): PartUpdate {
  const current = record.states[index];
  const isFinal = current === "delivered" || current === "failed";
  if (!isFinal) record.states[index] = state;
  if (state === "failed" && !isFinal && record.reason === undefined && reason !== undefined) record.reason = reason;

  const status = overallStatus(record.states);
  const update: PartUpdate = { rapidproId: record.rapidproId };
  if (status && (!record.reported || RANK[status] > RANK[record.reported])) {
    record.reported = status;
    update.report = status === "failed" ? { status, reason: record.reason } : { status };
  }
  return update;
}

export function newRecord(rapidproId: string, partIds: string[], now: number): Correlation {
  return { rapidproId, parts: [...partIds], states: partIds.map(() => "pending"), createdAt: now };
}
