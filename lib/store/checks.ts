/**
 * Checks every store applies alike (memory, embedded, Redis; lib/store/index.ts repeats the
 * input checks in front of each), and the reading of a stored entry, including entries written
 * by 0.1.0, so that bad input and damaged bytes fail the same way in each.
 */
import type { Correlation, PartState, Submission } from "./types";

const PART_STATES: ReadonlySet<string> = new Set<PartState>(["pending", "sent", "delivered", "failed"]);
const STATUSES: ReadonlySet<string> = new Set(["sent", "delivered", "failed"]);

/**
 * Longest id a store takes, in UTF-8 bytes. Ids are LMDB keys, limited to 1,978 bytes, and
 * lmdb refuses a longer one only when it is written, after the other entries of the same
 * transaction went in; checked first, a put is whole or nothing in every store. Real ids are far
 * shorter (an SMPP message_id is at most 65 octets, a RapidPro uuid 36).
 */
export const MAX_ID_BYTES = 1024;

export function checkPut(rapidproId: string, partIds: string[], text?: string): void {
  if (typeof rapidproId !== "string" || rapidproId === "") throw new Error("put: rapidproId must be a non-empty string");
  if (!Array.isArray(partIds) || partIds.length === 0) throw new Error("put: partIds must be a non-empty list");
  if (!partIds.every((id) => typeof id === "string" && id !== "")) throw new Error("put: every part id must be a non-empty string");
  if ([rapidproId, ...partIds].some((id) => Buffer.byteLength(id) > MAX_ID_BYTES)) throw new Error(`put: an id is longer than ${MAX_ID_BYTES} bytes`);
  if (new Set(partIds).size !== partIds.length) throw new Error("put: part ids must be distinct");
  if (text !== undefined && (typeof text !== "string" || text === "" || text.length > 128)) throw new Error("put: the text digest must be a string of 1 to 128 characters");
}

export function checkPartState(state: PartState): void {
  if (!PART_STATES.has(state)) throw new Error(`markPart: unknown part state ${JSON.stringify(state)}`);
}

export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) throw new Error(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
}

/** An error's message only: driver errors can carry connection details in their other fields. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/**
 * The stored value as a Correlation, or an Error that says what is wrong and where. Reads both
 * forms: the current one (`submissions`) and 0.1.0's, one submission per entry
 * (`{ rapidproId, parts, states, reason?, reported?, createdAt }`), which becomes an entry of
 * one submission without a text digest.
 */
export function checkRecord(value: unknown, where: string): Correlation {
  const read = readRecord(value);
  if (typeof read === "string") throw new Error(`corrupt correlation record (${where}): ${read}`);
  return read;
}

/** Every SMS id a stored value names, whichever form it has, for the expiry sweeps. */
export function storedPartIds(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [];
  const r = value as Record<string, unknown>;
  if (Array.isArray(r.submissions)) return r.submissions.flatMap((s: unknown) => (isStringList((s as Submission | null)?.parts) ? (s as Submission).parts : []));
  return isStringList(r.parts) ? r.parts : [];
}

function readRecord(value: unknown): Correlation | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const r = value as Record<string, unknown>;
  if (typeof r.rapidproId !== "string" || r.rapidproId === "") return "rapidproId is not a non-empty string";
  if (r.reason !== undefined && typeof r.reason !== "string") return "reason is not a string";
  if (r.reported !== undefined && !(typeof r.reported === "string" && STATUSES.has(r.reported))) return "reported is not a status";
  if (typeof r.createdAt !== "number" || !Number.isFinite(r.createdAt)) return "createdAt is not a number";
  const common = { rapidproId: r.rapidproId, createdAt: r.createdAt, ...(r.reason !== undefined ? { reason: r.reason } : {}), ...(r.reported !== undefined ? { reported: r.reported as Correlation["reported"] } : {}) };
  if (r.submissions === undefined) {
    // 0.1.0: the entry is one submission.
    const problem = submissionProblem({ parts: r.parts, states: r.states, at: r.createdAt });
    return problem ?? { ...common, submissions: [{ parts: [...(r.parts as string[])], states: [...(r.states as PartState[])], at: r.createdAt }] };
  }
  if (!Array.isArray(r.submissions) || r.submissions.length === 0) return "submissions is not a non-empty list";
  for (const s of r.submissions) {
    const problem = submissionProblem(s);
    if (problem) return problem;
  }
  const round = r.round;
  if (round !== undefined && !(Number.isInteger(round) && (round as number) >= 0 && (round as number) < r.submissions.length)) return "round is not a submission index";
  return { ...common, submissions: r.submissions as Submission[], ...(round !== undefined ? { round: round as number } : {}) };
}

function submissionProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "a submission is not an object";
  const s = value as Record<string, unknown>;
  if (!Array.isArray(s.parts) || s.parts.length === 0 || !isStringList(s.parts)) return "parts is not a non-empty list of strings";
  if (!Array.isArray(s.states) || s.states.length !== s.parts.length) return "states does not match parts";
  if (!s.states.every((x) => typeof x === "string" && PART_STATES.has(x))) return "states holds an unknown state";
  if (s.text !== undefined && typeof s.text !== "string") return "text is not a string";
  if (typeof s.at !== "number" || !Number.isFinite(s.at)) return "at is not a number";
  return undefined;
}
