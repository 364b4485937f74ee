/**
 * Op 23 status reports and the correlation key (aggregator-protocols.md §3.5). A report
 * carries `021` (the recipient), `060` (the service centre timestamp the submit response
 * gave), `061` status, optional `062` reason and `063` discharge time. The pair (`060`,
 * `021`) is the key that ties it to the submit, as Kannel's `dlr_find` does.
 */
import type { StatusName } from "../contract";
import { param, type Packet } from "./packet";
import { P } from "./parameters";

export type ReportOutcome = "delivered" | "failed" | "pending";

export interface StatusCodeInfo {
  code: number;
  text: string;
  outcome: ReportOutcome;
}

/** `061` as Kannel maps it: 4 delivered; 2, 3, 6, 7, 8, 9 failed; 0, 1, 5 not final. */
export const STATUS_CODES: readonly StatusCodeInfo[] = [
  { code: 0, text: "no final status yet", outcome: "pending" },
  { code: 1, text: "no final status yet", outcome: "pending" },
  { code: 2, text: "validity period expired", outcome: "failed" },
  { code: 3, text: "delivery failed", outcome: "failed" },
  { code: 4, text: "delivery successful", outcome: "delivered" },
  { code: 5, text: "no final status yet", outcome: "pending" },
  { code: 6, text: "last no response", outcome: "failed" },
  { code: 7, text: "message cancelled", outcome: "failed" },
  { code: 8, text: "message deleted", outcome: "failed" },
  { code: 9, text: "message deleted by cancel", outcome: "failed" },
];

const BY_CODE = new Map(STATUS_CODES.map((s) => [s.code, s]));

export function statusCodeInfo(code: number): StatusCodeInfo | undefined {
  return BY_CODE.get(code);
}

/** The contract's status for a final outcome; a non-final one has none. */
export function statusName(outcome: ReportOutcome): StatusName | undefined {
  return outcome === "pending" ? undefined : outcome;
}

/**
 * The correlation key of a submit: its service centre timestamp and its destination. A
 * leading "+" is dropped so "+4670…" and "4670…" (which SMSCs write either way) agree.
 */
export function correlationKey(timestamp: string, destination: string): string {
  return `${timestamp}:${destination.replace(/^\+/, "")}`;
}

export interface StatusReport {
  destination: string;
  timestamp: string;
  key: string;
  statusCode: number;
  statusText: string;
  outcome: ReportOutcome;
  /** `062`, the SMSC's reason for a failure. */
  errorCode?: number;
  dischargeTime?: string;
  /** A readable reason for a failure: the status text and `062`. */
  reason?: string;
}

export type ReportRead = { ok: true; report: StatusReport } | { ok: false; reason: string };

/** Reads an op 23; the packet's parameter values were already checked by decodePacket. */
export function readStatusReport(packet: Packet): ReportRead {
  const destination = param(packet, P.DESTINATION);
  const timestamp = param(packet, P.SERVICE_CENTRE_TIMESTAMP);
  const status = param(packet, P.STATUS_CODE);
  if (!destination) return { ok: false, reason: "status report without 021 (destination address)" };
  if (!timestamp) return { ok: false, reason: "status report without 060 (service centre timestamp)" };
  if (status === undefined) return { ok: false, reason: "status report without 061 (status code)" };
  const info = BY_CODE.get(Number(status));
  if (!info) return { ok: false, reason: `status code ${status} is not one CIMD2 defines` };
  const errorText = param(packet, P.STATUS_ERROR_CODE);
  const errorCode = errorText === undefined ? undefined : Number(errorText);
  const dischargeTime = param(packet, P.DISCHARGE_TIME);
  const report: StatusReport = {
    destination,
    timestamp,
    key: correlationKey(timestamp, destination),
    statusCode: info.code,
    statusText: info.text,
    outcome: info.outcome,
  };
  if (errorCode !== undefined) report.errorCode = errorCode;
  if (dischargeTime !== undefined) report.dischargeTime = dischargeTime;
  if (info.outcome === "failed") report.reason = errorCode !== undefined ? `${info.text} (062 error ${errorCode})` : info.text;
  return { ok: true, report };
}
