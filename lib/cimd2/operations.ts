/**
 * CIMD2 operation codes as data (aggregator-protocols.md §3.3). A response is the request's
 * code plus 50; 98 (general error response) and 99 (NACK) answer no particular operation.
 * `from` says who may send the request: Kannel's `operations[]` table in smsc_cimd2.c
 * checks the same thing in both directions.
 */

export type Sender = "client" | "smsc" | "either";

export interface OperationInfo {
  code: number;
  name: string;
  from: Sender;
}

export const RESPONSE_OFFSET = 50;
export const GENERAL_ERROR_RESPONSE = 98;
export const NACK = 99;

export const OP = {
  LOGIN: 1,
  LOGOUT: 2,
  SUBMIT: 3,
  ENQUIRE_STATUS: 4,
  DELIVERY_REQUEST: 5,
  CANCEL: 6,
  SET: 8,
  GET: 9,
  DELIVER_MESSAGE: 20,
  DELIVER_STATUS_REPORT: 23,
  ALIVE: 40,
} as const;

export const OPERATIONS: readonly OperationInfo[] = [
  { code: OP.LOGIN, name: "login", from: "client" },
  { code: OP.LOGOUT, name: "logout", from: "client" },
  { code: OP.SUBMIT, name: "submit message", from: "client" },
  { code: OP.ENQUIRE_STATUS, name: "enquire message status", from: "client" },
  { code: OP.DELIVERY_REQUEST, name: "delivery request", from: "client" },
  { code: OP.CANCEL, name: "cancel message", from: "client" },
  { code: OP.SET, name: "set", from: "client" },
  { code: OP.GET, name: "get", from: "client" },
  { code: OP.DELIVER_MESSAGE, name: "deliver message", from: "smsc" },
  { code: OP.DELIVER_STATUS_REPORT, name: "deliver status report", from: "smsc" },
  { code: OP.ALIVE, name: "alive", from: "either" },
];

const BY_CODE = new Map(OPERATIONS.map((op) => [op.code, op]));

/** The request this code is, if it is one. */
export function requestInfo(code: number): OperationInfo | undefined {
  return BY_CODE.get(code);
}

/** The request a response code answers (53 → submit), if it is a response. */
export function answeredRequest(code: number): OperationInfo | undefined {
  return code > RESPONSE_OFFSET ? BY_CODE.get(code - RESPONSE_OFFSET) : undefined;
}

export function responseCode(request: number): number {
  return request + RESPONSE_OFFSET;
}

/** True for every code the protocol defines: requests, their responses, 98 and 99. */
export function isKnownOperation(code: number): boolean {
  return BY_CODE.has(code) || answeredRequest(code) !== undefined || code === GENERAL_ERROR_RESPONSE || code === NACK;
}

/** A readable name for logs and reasons: "submit message response", "NACK", "operation 77". */
export function operationName(code: number): string {
  if (code === GENERAL_ERROR_RESPONSE) return "general error response";
  if (code === NACK) return "NACK";
  const request = BY_CODE.get(code);
  if (request) return request.name;
  const answered = answeredRequest(code);
  if (answered) return `${answered.name} response`;
  return `operation ${String(code).padStart(2, "0")}`;
}

/** May `sender` send this request? Responses follow from who sent the request. */
export function maySend(code: number, sender: "client" | "smsc"): boolean {
  if (code === NACK) return true;
  if (code === GENERAL_ERROR_RESPONSE) return sender === "smsc";
  const request = BY_CODE.get(code);
  if (request) return request.from === "either" || request.from === sender;
  const answered = answeredRequest(code);
  if (!answered) return false;
  return answered.from === "either" || answered.from !== sender;
}
