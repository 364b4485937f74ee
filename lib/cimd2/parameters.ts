/**
 * CIMD2 parameters as data: code, name, maximum length and type (aggregator-protocols.md
 * §3.4, Kannel's `parameters[]` table), and the check each value must pass when it is read
 * or written. Integer parameters may carry a leading "-" (`050` and `053` allow -1).
 */

export type ParameterType = "integer" | "string" | "address" | "time" | "hex" | "text";

export interface ParameterInfo {
  code: number;
  name: string;
  maxLength: number;
  type: ParameterType;
  /** Range of an integer parameter. */
  min?: number;
  max?: number;
}

export const P = {
  USER_IDENTITY: 10,
  PASSWORD: 11,
  DESTINATION: 21,
  ORIGINATOR: 23,
  ORIGINATING_IMSI: 26,
  ALPHANUMERIC_ORIGINATOR: 27,
  ORIGINATED_VISITED_MSC: 28,
  DATA_CODING_SCHEME: 30,
  USER_DATA_HEADER: 32,
  USER_DATA: 33,
  USER_DATA_BINARY: 34,
  MORE_MESSAGES: 44,
  VALIDITY_RELATIVE: 50,
  VALIDITY_ABSOLUTE: 51,
  PROTOCOL_IDENTIFIER: 52,
  FIRST_DELIVERY_RELATIVE: 53,
  FIRST_DELIVERY_ABSOLUTE: 54,
  REPLY_PATH: 55,
  STATUS_REPORT_REQUEST: 56,
  CANCEL_ENABLED: 58,
  CANCEL_MODE: 59,
  SERVICE_CENTRE_TIMESTAMP: 60,
  STATUS_CODE: 61,
  STATUS_ERROR_CODE: 62,
  DISCHARGE_TIME: 63,
  TARIFF_CLASS: 64,
  SERVICE_DESCRIPTION: 65,
  MESSAGE_COUNT: 66,
  PRIORITY: 67,
  DELIVERY_REQUEST_MODE: 68,
  SERVICE_CENTER_ADDRESS: 69,
  GET_PARAMETER: 500,
  MC_TIME: 501,
  ERROR_CODE: 900,
  ERROR_TEXT: 901,
} as const;

const int = (code: number, name: string, maxLength: number, min: number, max: number): ParameterInfo => ({ code, name, maxLength, type: "integer", min, max });

export const PARAMETERS: readonly ParameterInfo[] = [
  { code: P.USER_IDENTITY, name: "user identity", maxLength: 32, type: "string" },
  { code: P.PASSWORD, name: "password", maxLength: 32, type: "string" },
  { code: P.DESTINATION, name: "destination address", maxLength: 20, type: "address" },
  { code: P.ORIGINATOR, name: "originating address", maxLength: 20, type: "address" },
  { code: P.ORIGINATING_IMSI, name: "originating IMSI", maxLength: 20, type: "address" },
  { code: P.ALPHANUMERIC_ORIGINATOR, name: "alphanumeric originating address", maxLength: 11, type: "string" },
  { code: P.ORIGINATED_VISITED_MSC, name: "originated visited MSC", maxLength: 20, type: "address" },
  int(P.DATA_CODING_SCHEME, "data coding scheme", 3, 0, 255),
  { code: P.USER_DATA_HEADER, name: "user data header", maxLength: 280, type: "hex" },
  { code: P.USER_DATA, name: "user data", maxLength: 480, type: "text" },
  { code: P.USER_DATA_BINARY, name: "user data binary", maxLength: 280, type: "hex" },
  int(P.MORE_MESSAGES, "more messages to send", 1, 0, 1),
  int(P.VALIDITY_RELATIVE, "validity period relative", 3, -1, 255),
  { code: P.VALIDITY_ABSOLUTE, name: "validity period absolute", maxLength: 12, type: "time" },
  int(P.PROTOCOL_IDENTIFIER, "protocol identifier", 3, 0, 255),
  int(P.FIRST_DELIVERY_RELATIVE, "first delivery time relative", 3, -1, 255),
  { code: P.FIRST_DELIVERY_ABSOLUTE, name: "first delivery time absolute", maxLength: 12, type: "time" },
  int(P.REPLY_PATH, "reply path", 1, 0, 1),
  int(P.STATUS_REPORT_REQUEST, "status report request", 2, 0, 63),
  int(P.CANCEL_ENABLED, "cancel enabled", 1, 0, 1),
  int(P.CANCEL_MODE, "cancel mode", 1, 0, 2),
  { code: P.SERVICE_CENTRE_TIMESTAMP, name: "service centre timestamp", maxLength: 12, type: "time" },
  int(P.STATUS_CODE, "status code", 2, 0, 9),
  int(P.STATUS_ERROR_CODE, "status error code", 3, 0, 999),
  { code: P.DISCHARGE_TIME, name: "discharge time", maxLength: 12, type: "time" },
  int(P.TARIFF_CLASS, "tariff class", 2, 0, 99),
  int(P.SERVICE_DESCRIPTION, "service description", 2, 0, 9),
  int(P.MESSAGE_COUNT, "message count", 3, 0, 999),
  int(P.PRIORITY, "priority", 1, 1, 9),
  int(P.DELIVERY_REQUEST_MODE, "delivery request mode", 1, 0, 2),
  { code: P.SERVICE_CENTER_ADDRESS, name: "service center address", maxLength: 20, type: "address" },
  int(P.GET_PARAMETER, "get parameter", 3, 501, 999),
  { code: P.MC_TIME, name: "MC time", maxLength: 12, type: "time" },
  int(P.ERROR_CODE, "error code", 3, 0, 999),
  { code: P.ERROR_TEXT, name: "error text", maxLength: 64, type: "string" },
];

const BY_CODE = new Map(PARAMETERS.map((p) => [p.code, p]));

export function parameterInfo(code: number): ParameterInfo | undefined {
  return BY_CODE.get(code);
}

export function parameterLabel(code: number): string {
  const info = BY_CODE.get(code);
  const padded = String(code).padStart(3, "0");
  return info ? `${padded} (${info.name})` : padded;
}

/** Why a value is not valid for its parameter, or undefined when it is. Unknown codes pass. */
export function checkParameterValue(code: number, value: string): string | undefined {
  const info = BY_CODE.get(code);
  if (!info) return undefined;
  const label = parameterLabel(code);
  if (value.length > info.maxLength) return `${label} is ${value.length} characters long, at most ${info.maxLength} allowed`;
  switch (info.type) {
    case "integer": {
      if (!/^-?\d+$/.test(value)) return `${label} "${printable(value)}" is not an integer`;
      const n = Number(value);
      if (n < (info.min ?? -Infinity) || n > (info.max ?? Infinity)) return `${label} ${n} is outside ${info.min}..${info.max}`;
      return undefined;
    }
    case "time":
      return /^\d{12}$/.test(value) ? undefined : `${label} "${printable(value)}" is not YYMMDDhhmmss`;
    case "address":
      return /^[0-9+-]*$/.test(value) ? undefined : `${label} "${printable(value)}" has characters other than digits, + and -`;
    case "hex":
      if (!/^[0-9A-Fa-f]*$/.test(value)) return `${label} is not hexadecimal`;
      return value.length % 2 === 0 ? undefined : `${label} has an odd number of hex digits`;
    case "string":
    case "text":
      return undefined;
  }
}

/** A value as it may appear in a reason: control characters shown as \xNN, cut at 40. */
export function printable(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  let out = "";
  for (const c of shown) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0xff) ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  }
  return out;
}
