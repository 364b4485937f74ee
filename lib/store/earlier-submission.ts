/**
 * Courier sends an MT again when it did not hear our answer: Node-RED was killed after the
 * aggregator accepted the message, or courier's request timed out first. Submitting it again
 * would put a second SMS on the phone and, later, a second set of statuses into RapidPro. So
 * before submitting, the out nodes look for an earlier submission of the same RapidPro id in
 * the correlation store and, when there is one, answer from it.
 *
 * A message whose earlier submission failed is submitted anew: RapidPro only sends a failed
 * message again when someone asked it to.
 */
import type { SubmitResult } from "../contract";
import type { CorrelationStore } from "./types";

export async function earlierSubmission(store: CorrelationStore, rapidproId: string): Promise<SubmitResult | undefined> {
  const record = await store.findByMessage(rapidproId);
  if (!record || record.reported === "failed" || record.states.includes("failed")) return undefined;
  return { accepted: true, parts: record.parts.length, smscIds: [...record.parts], repeat: true };
}
