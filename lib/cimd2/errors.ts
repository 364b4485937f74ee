/**
 * CIMD2 error codes (parameter `900` in an error response; aggregator-protocols.md §3.3:
 * Kannel's and jcimd's `cimd2_errors[]`, ecimd2's additions 104-108, 320-324 and 7xx) and
 * the one table that classifies them for a refused submit:
 * - temporary: worth retrying later (courier retries), e.g. 4 "connection to MC lost",
 *   5 "no response from MC", 6 "general system error", 10 "temporary congestion";
 * - throttling: temporary, and the whole bind pauses (10 congestion, 324 licence exceeded);
 * - permanent: the message itself is wrong and sending it again cannot help.
 * Codes the table lacks are permanent, as SMPP's unlisted statuses are (lib/smpp/command-status.ts).
 */

import { GENERAL_ERROR_RESPONSE } from "./operations";
import { param, type Packet, type Parameter } from "./packet";
import { P } from "./parameters";

export type ErrorClass = "temporary" | "throttling" | "permanent";

export interface Cimd2ErrorInfo {
  code: number;
  text: string;
  class: ErrorClass;
}

const t = (code: number, text: string): Cimd2ErrorInfo => ({ code, text, class: "temporary" });
const p = (code: number, text: string): Cimd2ErrorInfo => ({ code, text, class: "permanent" });
const throttle = (code: number, text: string): Cimd2ErrorInfo => ({ code, text, class: "throttling" });

export const CIMD2_ERRORS: readonly Cimd2ErrorInfo[] = [
  p(1, "unexpected operation"),
  p(2, "syntax error"),
  p(3, "unsupported parameter error"),
  t(4, "connection to message center lost"),
  t(5, "no response from message center"),
  t(6, "general system error"),
  p(7, "cannot find information"),
  p(8, "parameter formatting error"),
  t(9, "requested operation failed"),
  throttle(10, "temporary congestion error"),
  // login
  p(100, "invalid login"),
  p(101, "incorrect access type"),
  t(102, "too many users with this login id"),
  p(103, "login refused by message center"),
  p(104, "invalid window size"),
  p(105, "windowing disabled"),
  p(106, "virtual SMSC barring"),
  p(107, "invalid subaddress"),
  p(108, "alias login refused"),
  // submit message
  p(300, "incorrect destination address"),
  p(301, "incorrect number of destination addresses"),
  p(302, "syntax error in user data parameter"),
  p(303, "incorrect bin/head/normal user data parameter combination"),
  p(304, "incorrect data coding scheme parameter usage"),
  p(305, "incorrect validity period parameters usage"),
  p(306, "incorrect originator address usage"),
  p(307, "incorrect pid parameter usage"),
  p(308, "incorrect first delivery parameter usage"),
  p(309, "incorrect reply path usage"),
  p(310, "incorrect status report request parameter usage"),
  p(311, "incorrect cancel enabled parameter usage"),
  p(312, "incorrect priority parameter usage"),
  p(313, "incorrect tariff class parameter usage"),
  p(314, "incorrect service description parameter usage"),
  p(315, "incorrect transport type parameter usage"),
  p(316, "incorrect message type parameter usage"),
  p(318, "incorrect mms parameter usage"),
  p(319, "incorrect operation timer parameter usage"),
  p(320, "incorrect dialogue id parameter usage"),
  p(321, "incorrect alphanumeric originator address usage"),
  p(322, "invalid data in alphanumeric originator address"),
  p(323, "online closed user group rejection"),
  throttle(324, "licence exceeded"),
  // enquire message status
  p(400, "incorrect address parameter usage"),
  p(401, "incorrect scts parameter usage"),
  // delivery request
  p(500, "incorrect scts parameter usage"),
  p(501, "incorrect mode parameter usage"),
  p(502, "incorrect parameter combination"),
  // cancel message
  p(600, "incorrect scts parameter usage"),
  p(601, "incorrect address parameter usage"),
  p(602, "incorrect mode parameter usage"),
  p(603, "incorrect parameter combination"),
  // deliver message / status report responses, sent by the application
  t(710, "generic failure"),
  p(711, "unsupported data coding scheme"),
  p(712, "unsupported user data header"),
  p(730, "unknown subscriber"),
  // set and get
  p(800, "changing password failed"),
  p(801, "changing password not allowed"),
  p(900, "unsupported item requested"),
];

const BY_CODE = new Map(CIMD2_ERRORS.map((e) => [e.code, e]));

export function errorInfo(code: number): Cimd2ErrorInfo | undefined {
  return BY_CODE.get(code);
}

export function classifyError(code: number): ErrorClass {
  return BY_CODE.get(code)?.class ?? "permanent";
}

/** "error 10 (temporary congestion error)", with the SMSC's own `901` text when it sent one. */
export function describeError(code: number, smscText?: string): string {
  const known = BY_CODE.get(code)?.text ?? "error code not in the CIMD2 table";
  return smscText ? `error ${code} (${known}): ${smscText}` : `error ${code} (${known})`;
}

/**
 * What we answer an op 20 / op 23 we could not hand over: `710` "generic failure", a
 * temporary application error, so the SMSC keeps the message and delivers it again
 * (docs/design.md, the CIMD2 decision).
 */
export const REDELIVER_ERROR = 710;

/** `901` error text is at most 64 characters (§3.4). */
const MAX_ERROR_TEXT = 64;

/** `900` code and `901` text for an error response; the text made safe for the wire. */
export function errorParams(code: number, text?: string): Parameter[] {
  const params: Parameter[] = [{ code: P.ERROR_CODE, value: String(code) }];
  // eslint-disable-next-line no-control-regex
  const safe = (text ?? "").replace(/[\x00-\x1f\x7f]|[^\x00-\xff]/g, " ").slice(0, MAX_ERROR_TEXT);
  if (safe) params.push({ code: P.ERROR_TEXT, value: safe });
  return params;
}

/** The error a response carries (`900` other than 0), described; undefined when none. */
export function errorOf(response: Packet): string | undefined {
  const code = errorCodeOf(response);
  if (code === undefined) return undefined;
  return describeError(code, param(response, P.ERROR_TEXT));
}

export function errorCodeOf(response: Packet): number | undefined {
  const value = param(response, P.ERROR_CODE);
  if (value === undefined) return response.op === GENERAL_ERROR_RESPONSE ? 2 : undefined;
  const code = Number(value);
  return code === 0 ? undefined : code;
}
