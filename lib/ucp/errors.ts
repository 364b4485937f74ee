/**
 * UCP/EMI error codes of negative results (`N/<EC>/<SM>/`), their meaning (Kannel's
 * `emimsg.c` table, aggregator-protocols.md §2.1) and whether a refused submit is worth
 * sending again later. The one table the session, the simulator and the nodes read.
 *
 * Why these are temporary: 01 is a transmission fault (the frame arrived garbled), 30 a
 * hang-up of the line, 37 "delivery in progress" a state that passes. Everything else says
 * the message or the account is wrong and will be refused again. Kannel itself treats every
 * negative result as a rejection (`bb_smscconn_send_failed(... SMSCCONN_FAILED_REJECTED)`),
 * so this table only ever makes retries more likely, never less.
 */

export interface ErrorCodeInfo {
  code: string;
  text: string;
  temporary: boolean;
}

export const ERROR_CODES: readonly ErrorCodeInfo[] = [
  { code: "01", text: "Checksum error", temporary: true },
  { code: "02", text: "Syntax error", temporary: false },
  { code: "03", text: "Operation not supported by system", temporary: false },
  { code: "04", text: "Operation not allowed", temporary: false },
  { code: "05", text: "Call barring active", temporary: false },
  { code: "06", text: "AdC invalid", temporary: false },
  { code: "07", text: "Authentication failure", temporary: false },
  { code: "08", text: "Legitimisation code for all calls, failure", temporary: false },
  { code: "09", text: "GA not valid", temporary: false },
  { code: "10", text: "Repetition not allowed", temporary: false },
  { code: "11", text: "Legitimisation code for repetition, failure", temporary: false },
  { code: "12", text: "Priority call not allowed", temporary: false },
  { code: "13", text: "Legitimisation code for priority call, failure", temporary: false },
  { code: "14", text: "Urgent message not allowed", temporary: false },
  { code: "15", text: "Legitimisation code for urgent message, failure", temporary: false },
  { code: "16", text: "Reverse charging not allowed", temporary: false },
  { code: "17", text: "Legitimisation code for reverse charging, failure", temporary: false },
  { code: "18", text: "Deferred delivery not allowed", temporary: false },
  { code: "19", text: "New AC not valid", temporary: false },
  { code: "20", text: "New legitimisation code not valid", temporary: false },
  { code: "21", text: "Standard text not valid", temporary: false },
  { code: "22", text: "Time period not valid", temporary: false },
  { code: "23", text: "Message type not supported by system", temporary: false },
  { code: "24", text: "Message too long", temporary: false },
  { code: "25", text: "Requested standard text not valid", temporary: false },
  { code: "26", text: "Message type not valid for the pager type", temporary: false },
  { code: "27", text: "Message not found in SMSC", temporary: false },
  { code: "30", text: "Subscriber hang-up", temporary: true },
  { code: "31", text: "Fax group not supported", temporary: false },
  { code: "32", text: "Fax message type not supported", temporary: false },
  { code: "33", text: "Address already in list", temporary: false },
  { code: "34", text: "Address not in list", temporary: false },
  { code: "35", text: "List full, cannot add address to list", temporary: false },
  { code: "36", text: "RPID already in use", temporary: false },
  { code: "37", text: "Delivery in progress", temporary: true },
  { code: "38", text: "Message forwarded", temporary: false },
];

const BY_CODE = new Map(ERROR_CODES.map((e) => [e.code, e]));

/**
 * Meaning and class of an error code. A code outside the table is temporary: nothing says
 * the message is wrong, and a retry of a refused submit cannot duplicate it.
 */
export function describeErrorCode(code: string): ErrorCodeInfo {
  return BY_CODE.get(code) ?? { code, text: `unknown error code ${code}`, temporary: true };
}

/** The answer to an SMSC operation we cannot take now, so that it is delivered again (docs/design.md). */
export const REDELIVER_ERROR_CODE = "04";
/** The answer to an operation type this package does not serve. */
export const NOT_SUPPORTED_ERROR_CODE = "03";
/** The answer to an operation whose fields are unreadable. */
export const SYNTAX_ERROR_CODE = "02";
