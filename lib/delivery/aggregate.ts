/**
 * How the submissions of one RapidPro message add up to one status. Every store (memory,
 * embedded, Redis) and every receipt path applies this file's rules, and nothing else.
 *
 * A message is every submission of every part courier sent for its id. Of each part (one text)
 * the latest submission counts. The status is `sent` once any SMS is on its way, `delivered`
 * when every SMS of every part is delivered, `failed` when any failed; it never goes back and is
 * reported once per step.
 *
 * RapidPro's resend of a failed message begins a new round: courier sends every part again;
 * the parts that did not fail are answered from the store, the failed ones are submitted anew
 * (lib/delivery/submissions.ts). The first such submission after a reported failure begins the
 * round: the reported status is cleared, so the new submissions' `sent` and `delivered` reach
 * RapidPro, and failed submissions from before the round no longer count (their part was
 * submitted again, or RapidPro did not resend it). Statuses of a round carry the round's first
 * SMS id as `smscId`, so the outbox's once-id (lib/rapidpro/callbacks.ts) keeps rounds apart.
 */
import type { StatusName } from "../contract";
import type { Correlation, PartState, PartUpdate, Submission } from "../store/types";

/** Order in which a message's status may move; RapidPro overwrites blindly, so never go back. */
const RANK: Record<StatusName, number> = { sent: 1, delivered: 2, failed: 2 };

const isFinal = (state: PartState | undefined) => state === "delivered" || state === "failed";

export function newRecord(rapidproId: string, partIds: string[], text: string | undefined, now: number): Correlation {
  return { rapidproId, submissions: [newSubmission(partIds, text, now)], createdAt: now };
}

function newSubmission(partIds: string[], text: string | undefined, now: number): Submission {
  const submission: Submission = { parts: [...partIds], states: partIds.map(() => "pending"), at: now };
  if (text !== undefined) submission.text = text;
  return submission;
}

/** Adds a submission in place; after a reported failure it begins a new round. */
export function addSubmission(record: Correlation, partIds: string[], text: string | undefined, now: number): void {
  if (record.reported === "failed") {
    record.round = record.submissions.length;
    delete record.reported;
    delete record.reason;
  }
  record.submissions.push(newSubmission(partIds, text, now));
}

/** The submissions whose states make up the status: the latest of each part, as the round has them. */
export function countedSubmissions(record: Correlation): Submission[] {
  const round = record.round ?? 0;
  const latest = new Map<string, { submission: Submission; index: number }>();
  record.submissions.forEach((submission, index) => {
    // A submission without a text (0.1.0) cannot be matched with another: it is a part of its own.
    latest.set(submission.text ?? `#${index}`, { submission, index });
  });
  return [...latest.values()]
    .filter(({ submission, index }) => index >= round || !submission.states.includes("failed"))
    .map(({ submission }) => submission);
}

/** The status every counted SMS adds up to, if any. */
export function overallStatus(record: Correlation): StatusName | undefined {
  const states = countedSubmissions(record).flatMap((s) => s.states);
  if (states.includes("failed")) return "failed";
  if (states.length > 0 && states.every((s) => s === "delivered")) return "delivered";
  if (states.some((s) => s !== "pending")) return "sent";
  return undefined;
}

/** The submission holding an SMS id: the latest, should an aggregator have reused one. */
export function submissionOf(record: Correlation, partId: string): Submission | undefined {
  for (let i = record.submissions.length - 1; i >= 0; i--) if (record.submissions[i].parts.includes(partId)) return record.submissions[i];
  return undefined;
}

/** The id every status of the current round carries: its first submission's first SMS. */
export function roundSmscId(record: Correlation): string {
  const first = record.submissions[Math.min(record.round ?? 0, record.submissions.length - 1)];
  return first.parts[0];
}

/**
 * Applies one SMS's new state to a record in place and says what to report. A final state
 * (delivered, failed) is never replaced.
 */
export function applyPartState(record: Correlation, partId: string, state: PartState, reason?: string): PartUpdate {
  const update: PartUpdate = { rapidproId: record.rapidproId };
  const submission = submissionOf(record, partId);
  if (!submission) return update;
  const index = submission.parts.indexOf(partId);
  if (isFinal(submission.states[index])) return update;
  submission.states[index] = state;
  const counted = countedSubmissions(record).includes(submission);
  if (state === "failed" && counted && record.reason === undefined && reason !== undefined) record.reason = reason;
  const status = overallStatus(record);
  if (status && (!record.reported || RANK[status] > RANK[record.reported])) {
    record.reported = status;
    update.report = status === "failed" ? { status, reason: record.reason, smscId: roundSmscId(record) } : { status, smscId: roundSmscId(record) };
  }
  return update;
}

/** A copy that applyPartState and addSubmission may change without touching the original. */
export function copyRecord(record: Correlation): Correlation {
  return { ...record, submissions: record.submissions.map((s) => ({ ...s, parts: [...s.parts], states: [...s.states] })) };
}

/** The latest submission of this text, if any (a resend repeats id and text). */
export function submissionOfText(record: Correlation, text: string): Submission | undefined {
  for (let i = record.submissions.length - 1; i >= 0; i--) if (record.submissions[i].text === text) return record.submissions[i];
  return undefined;
}
