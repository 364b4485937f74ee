/**
 * Field tables of the UCP/EMI operations a client needs and of their results, as data
 * (aggregator-protocols.md §2.1-§2.2; the order is Kannel's `emimsg.h`). Every frame of an
 * OT has exactly this many fields; a frame is read into a record keyed by these names and
 * written back from one, so no other file counts slashes.
 */

/** OT 50-series: "OT 50-series have 33 fields" (§2.1). AMsg, TMsg and NMsg share MSG. */
export const FIELDS_50 = [
  "ADC", "OADC", "AC", "NRQ", "NADC", "NT", "NPID", "LRQ", "LRAD", "LPID", "DD", "DDT", "VP",
  "RPID", "SCTS", "DST", "RSN", "DSCTS", "MT", "NB", "MSG", "MMS", "PR", "DCS", "MCLS", "RPI",
  "CPG", "RPLY", "OTOA", "HPLMN", "XSER", "RES4", "RES5",
] as const;

/** OT 01 call input: "ADC OADC AC MT AMSG" (§2.2). */
export const FIELDS_01 = ["ADC", "OADC", "AC", "MT", "MSG"] as const;
/** OT 31 alert: ADC, PID (§2.2). */
export const FIELDS_31 = ["ADC", "PID"] as const;
/** OT 60 session management: 12 fields (§2.2). */
export const FIELDS_60 = ["OADC", "OTON", "ONPI", "STYP", "PWD", "NPWD", "VERS", "LADC", "LTON", "LNPI", "OPID", "RES1"] as const;

export type OperationType = 1 | 31 | 51 | 52 | 53 | 60;

export const OPERATION_FIELDS: Readonly<Record<OperationType, readonly string[]>> = {
  1: FIELDS_01,
  31: FIELDS_31,
  51: FIELDS_50,
  52: FIELDS_50,
  53: FIELDS_50,
  60: FIELDS_60,
};

/** "positive `A/<MVP>/<SM>/` for 50-series (3 fields), `A//` for 31/60 (2 fields); negative `N/<EC>/<SM>/`" (§2.1). */
const POSITIVE_SHORT = ["ACK", "SM"] as const;
const POSITIVE_50 = ["ACK", "MVP", "SM"] as const;
const NEGATIVE = ["NACK", "EC", "SM"] as const;

const POSITIVE_RESULT_FIELDS: Readonly<Record<OperationType, readonly string[]>> = {
  1: POSITIVE_SHORT,
  31: POSITIVE_SHORT,
  51: POSITIVE_50,
  52: POSITIVE_50,
  53: POSITIVE_50,
  60: POSITIVE_SHORT,
};

export type Fields = Record<string, string>;

/** The names of a frame's fields, or undefined for an OT without a table. */
export function fieldNames(frame: { direction: "O" | "R"; ot: number; fields: readonly string[] }): readonly string[] | undefined {
  const ot = frame.ot as OperationType;
  if (!(ot in OPERATION_FIELDS)) return undefined;
  if (frame.direction === "O") return OPERATION_FIELDS[ot];
  return frame.fields[0] === "N" ? NEGATIVE : POSITIVE_RESULT_FIELDS[ot];
}

/** A frame's fields as a record by name (empty fields as ""). */
export function fieldsOf(frame: { direction: "O" | "R"; ot: number; fields: readonly string[] }): Fields {
  const names = fieldNames(frame) ?? frame.fields.map((_, i) => `F${i + 1}`);
  const record: Fields = {};
  names.forEach((name, i) => (record[name] = frame.fields[i] ?? ""));
  return record;
}

/** The field values of an operation in table order; a name the table lacks throws. */
export function operationFields(ot: OperationType, values: Fields): string[] {
  const names = OPERATION_FIELDS[ot];
  for (const key of Object.keys(values)) {
    if (!names.includes(key)) throw new RangeError(`operation ${ot} has no field ${key}`);
  }
  return names.map((name) => values[name] ?? "");
}

/** A positive result's fields: `A//` or `A/<MVP>/<SM>/`. */
export function positiveResultFields(ot: OperationType, sm = "", mvp = ""): string[] {
  return POSITIVE_RESULT_FIELDS[ot].length === 3 ? ["A", mvp, sm] : ["A", sm];
}

/** A negative result's fields: `N/<EC>/<SM>/`. */
export function negativeResultFields(errorCode: string, sm = ""): string[] {
  if (!/^\d{2}$/.test(errorCode)) throw new RangeError(`error code ${JSON.stringify(errorCode)} is not two digits`);
  return ["N", errorCode, sm];
}
