/**
 * SMPP command_status values: one table of names, codes, meanings and classes, with the
 * constants and the default temporary/throttling lists derived from it.
 *
 * The policy decides what a refused submit_sm means for RapidPro: a temporary status is
 * reported as a temporary failure (courier retries it), a permanent one as a permanent
 * failure. Throttling statuses additionally pause the bind (smpp-and-gateways.md §3.2: Kannel
 * pauses 1 s on ESME_RTHROTTLED; aggregator-protocols.md §1.5: Rapporto asks for a 5 s pause
 * on 0x14 and 0x58).
 */

export interface CommandStatusInfo {
  code: number;
  /** The SMPP 3.4 name (SMPP 5.0's for codes 3.4 does not define). */
  name: string;
  /** What it means, as the spec says it. */
  text: string;
  /** "Try again later": a refused submit_sm is a temporary failure (courier retries it). */
  temporary?: true;
  /** The SMSC asks us to slow down: the whole bind pauses (also temporary). */
  throttling?: true;
  /** The SMPP 5.0 name where it differs (the `smpp` package uses these), accepted in the editor. */
  v5Name?: string;
}

/**
 * SMPP 3.4 table 5-2, plus ESME_RINVDCS from SMPP 5.0 (answered by SMSCs that speak 3.4
 * too). The temporary column is the union of Kannel's class (RMSGQFUL, RTHROTTLED, RX_T_APPN,
 * RSYSERR; smpp-and-gateways.md §3.2) and Jasmin's retry table (RSYSERR, RTHROTTLED, RMSGQFUL,
 * RINVSCHED; §4.2); every other non-zero status is permanent. The throttling column pauses
 * the bind (§3.2: Kannel pauses 1 s on ESME_RTHROTTLED; aggregator-protocols.md §1.5:
 * Rapporto asks for a 5 s pause on 0x14 and 0x58). Vendor codes (e.g. Rapporto's 0xAB
 * duplicate, 0x500 concatenation mismatch) have no row: permanent unless configured.
 */
export const COMMAND_STATUSES: readonly CommandStatusInfo[] = [
  { code: 0x00, name: "ESME_ROK", text: "no error" },
  { code: 0x01, name: "ESME_RINVMSGLEN", text: "message length is invalid" },
  { code: 0x02, name: "ESME_RINVCMDLEN", text: "command length is invalid" },
  { code: 0x03, name: "ESME_RINVCMDID", text: "invalid command id" },
  { code: 0x04, name: "ESME_RINVBNDSTS", text: "incorrect bind status for this command" },
  { code: 0x05, name: "ESME_RALYBND", text: "already bound (or too many sessions)" },
  { code: 0x06, name: "ESME_RINVPRTFLG", text: "invalid priority flag" },
  { code: 0x07, name: "ESME_RINVREGDLVFLG", text: "invalid registered delivery flag" },
  { code: 0x08, name: "ESME_RSYSERR", text: "system error", temporary: true },
  { code: 0x0a, name: "ESME_RINVSRCADR", text: "invalid source address" },
  { code: 0x0b, name: "ESME_RINVDSTADR", text: "invalid destination address" },
  { code: 0x0c, name: "ESME_RINVMSGID", text: "message id is invalid" },
  { code: 0x0d, name: "ESME_RBINDFAIL", text: "bind failed" },
  { code: 0x0e, name: "ESME_RINVPASWD", text: "invalid password" },
  { code: 0x0f, name: "ESME_RINVSYSID", text: "invalid system id" },
  { code: 0x11, name: "ESME_RCANCELFAIL", text: "cancel_sm failed" },
  { code: 0x13, name: "ESME_RREPLACEFAIL", text: "replace_sm failed" },
  { code: 0x14, name: "ESME_RMSGQFUL", text: "message queue full", temporary: true, throttling: true },
  { code: 0x15, name: "ESME_RINVSERTYP", text: "invalid service type" },
  { code: 0x33, name: "ESME_RINVNUMDESTS", text: "invalid number of destinations" },
  { code: 0x34, name: "ESME_RINVDLNAME", text: "invalid distribution list name" },
  { code: 0x40, name: "ESME_RINVDESTFLAG", text: "invalid destination flag" },
  { code: 0x42, name: "ESME_RINVSUBREP", text: "invalid submit with replace request" },
  { code: 0x43, name: "ESME_RINVESMCLASS", text: "invalid esm_class" },
  { code: 0x44, name: "ESME_RCNTSUBDL", text: "cannot submit to distribution list" },
  { code: 0x45, name: "ESME_RSUBMITFAIL", text: "submit_sm or submit_multi failed" },
  { code: 0x48, name: "ESME_RINVSRCTON", text: "invalid source address TON" },
  { code: 0x49, name: "ESME_RINVSRCNPI", text: "invalid source address NPI" },
  { code: 0x50, name: "ESME_RINVDSTTON", text: "invalid destination address TON" },
  { code: 0x51, name: "ESME_RINVDSTNPI", text: "invalid destination address NPI" },
  { code: 0x53, name: "ESME_RINVSYSTYP", text: "invalid system_type" },
  { code: 0x54, name: "ESME_RINVREPFLAG", text: "invalid replace_if_present flag" },
  { code: 0x55, name: "ESME_RINVNUMMSGS", text: "invalid number of messages" },
  { code: 0x58, name: "ESME_RTHROTTLED", text: "throttling error: the ESME exceeded its message limits", temporary: true, throttling: true },
  { code: 0x61, name: "ESME_RINVSCHED", text: "invalid scheduled delivery time", temporary: true },
  { code: 0x62, name: "ESME_RINVEXPIRY", text: "invalid validity period" },
  { code: 0x63, name: "ESME_RINVDFTMSGID", text: "predefined message invalid or not found" },
  { code: 0x64, name: "ESME_RX_T_APPN", text: "ESME receiver temporary application error", temporary: true },
  { code: 0x65, name: "ESME_RX_P_APPN", text: "ESME receiver permanent application error" },
  { code: 0x66, name: "ESME_RX_R_APPN", text: "ESME receiver reject message error" },
  { code: 0x67, name: "ESME_RQUERYFAIL", text: "query_sm failed" },
  { code: 0xc0, name: "ESME_RINVOPTPARSTREAM", v5Name: "ESME_RINVTLVSTREAM", text: "error in the optional part of the PDU body" },
  { code: 0xc1, name: "ESME_ROPTPARNOTALLWD", v5Name: "ESME_RTLVNOTALLWD", text: "optional parameter not allowed" },
  { code: 0xc2, name: "ESME_RINVPARLEN", v5Name: "ESME_RINVTLVLEN", text: "invalid parameter length" },
  { code: 0xc3, name: "ESME_RMISSINGOPTPARAM", v5Name: "ESME_RMISSINGTLV", text: "expected optional parameter missing" },
  { code: 0xc4, name: "ESME_RINVOPTPARAMVAL", v5Name: "ESME_RINVTLVVAL", text: "invalid optional parameter value" },
  { code: 0xfe, name: "ESME_RDELIVERYFAILURE", text: "delivery failure (data_sm_resp)" },
  { code: 0xff, name: "ESME_RUNKNOWNERR", text: "unknown error" },
  { code: 0x104, name: "ESME_RINVDCS", text: "invalid data coding scheme (SMPP 5.0)" },
];

const BY_CODE = new Map(COMMAND_STATUSES.map((s) => [s.code, s]));
const BY_NAME = new Map(COMMAND_STATUSES.flatMap((s) => (s.v5Name ? [[s.name, s], [s.v5Name, s]] as const : [[s.name, s]] as const)));

/** The code of a row of the table, by name (3.4's or 5.0's); a name without a row is a bug. */
export function commandStatus(name: string): number {
  const row = BY_NAME.get(name);
  if (!row) throw new Error(`no command status row named ${name}`);
  return row.code;
}

export const ESME_ROK = commandStatus("ESME_ROK");
export const ESME_RINVMSGLEN = commandStatus("ESME_RINVMSGLEN");
export const ESME_RINVCMDLEN = commandStatus("ESME_RINVCMDLEN");
export const ESME_RINVCMDID = commandStatus("ESME_RINVCMDID");
export const ESME_RSYSERR = commandStatus("ESME_RSYSERR");
export const ESME_RINVSRCADR = commandStatus("ESME_RINVSRCADR");
export const ESME_RINVDSTADR = commandStatus("ESME_RINVDSTADR");
export const ESME_RMSGQFUL = commandStatus("ESME_RMSGQFUL");
export const ESME_RTHROTTLED = commandStatus("ESME_RTHROTTLED");
export const ESME_RX_T_APPN = commandStatus("ESME_RX_T_APPN");
export const ESME_RX_P_APPN = commandStatus("ESME_RX_P_APPN");
/** An optional parameter (TLV) stream that ends inside a TLV header. */
export const ESME_RINVOPTPARSTREAM = commandStatus("ESME_RINVOPTPARSTREAM");
/** A TLV whose length runs past the PDU or does not fit its type; SMPP 5.0's ESME_RINVTLVLEN. */
export const ESME_RINVPARLEN = commandStatus("ESME_RINVPARLEN");
/** Invalid optional parameter (TLV) value; Kannel's name for it is ESME_RINVTLVVAL. */
export const ESME_RINVOPTPARAMVAL = commandStatus("ESME_RINVOPTPARAMVAL");
export const ESME_RUNKNOWNERR = commandStatus("ESME_RUNKNOWNERR");
/** Invalid data_coding: defined by SMPP 5.0, answered by SMSCs that speak 3.4 too. */
export const ESME_RINVDCS = commandStatus("ESME_RINVDCS");

/** The statuses the table marks temporary (throttling ones included). */
export const DEFAULT_TEMPORARY_STATUSES: readonly number[] = COMMAND_STATUSES.filter((s) => s.temporary).map((s) => s.code);

/** These pause the whole bind, not just fail one message (§3.2, §9.4). */
export const DEFAULT_THROTTLING_STATUSES: readonly number[] = COMMAND_STATUSES.filter((s) => s.throttling).map((s) => s.code);

export interface StatusPolicy {
  temporary: ReadonlySet<number>;
  throttling: ReadonlySet<number>;
}

export type StatusClass = "ok" | "throttling" | "temporary" | "permanent";

export function makeStatusPolicy(
  temporary: readonly number[] = DEFAULT_TEMPORARY_STATUSES,
  throttling: readonly number[] = DEFAULT_THROTTLING_STATUSES,
): StatusPolicy {
  return { temporary: new Set(temporary), throttling: new Set(throttling) };
}

export const DEFAULT_STATUS_POLICY = makeStatusPolicy();

export function classifyStatus(code: number, policy: StatusPolicy = DEFAULT_STATUS_POLICY): StatusClass {
  if (code === ESME_ROK) return "ok";
  if (policy.throttling.has(code)) return "throttling";
  if (policy.temporary.has(code)) return "temporary";
  return "permanent";
}

export function hex(code: number): string {
  return "0x" + code.toString(16).toUpperCase().padStart(2, "0");
}

/** "ESME_RTHROTTLED (0x58)"; vendor codes show as "vendor status (0x400)". */
export function describeStatus(code: number): string {
  const info = BY_CODE.get(code);
  return `${info ? info.name : "vendor status"} (${hex(code)})`;
}

export function statusText(code: number): string {
  return BY_CODE.get(code)?.text ?? "status not defined by SMPP 3.4 (vendor specific)";
}

/**
 * Parses an editor field such as "0x58, ESME_RSYSERR, 100" into status codes.
 * Returns the codes, or throws an Error naming the first token it cannot read.
 */
export function parseStatusList(text: string): number[] {
  const codes: number[] = [];
  for (const raw of text.split(/[\s,;]+/)) {
    const token = raw.trim();
    if (!token) continue;
    const named = BY_NAME.get(token.toUpperCase());
    const code = named ? named.code : /^(0x[0-9a-f]+|\d+)$/i.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
      throw new Error(`not an SMPP command status: "${token}"`);
    }
    codes.push(code);
  }
  return codes;
}
