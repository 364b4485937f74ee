/**
 * Typing of SMPP addresses (TON and NPI) from the address text, as Kannel's
 * `source-addr-autodetect` does: "+" and digits is international, letters make an
 * alphanumeric sender. Each rule is overridable per bind.
 */
import { moSender } from "../delivery/addresses";

/** Type of number (SMPP 3.4 §5.2.5). */
export const TON = { unknown: 0, international: 1, national: 2, networkSpecific: 3, subscriber: 4, alphanumeric: 5, abbreviated: 6 } as const;
/** Numbering plan indicator (SMPP 3.4 §5.2.6). */
export const NPI = { unknown: 0, isdn: 1 } as const;

export type AddressKind = "international" | "shortCode" | "number" | "alphanumeric" | "empty";

export interface TypedAddress {
  addr: string;
  ton: number;
  npi: number;
  kind: AddressKind;
}

export interface AddressOverride {
  ton?: number;
  npi?: number;
}

export type AddressResult = ({ ok: true } & TypedAddress) | { ok: false; reason: string };

interface AddressRule {
  kind: AddressKind;
  pattern: RegExp;
  ton: number;
  npi: number;
  /** Whether the rule applies to a destination too (an alphanumeric one cannot be reached). */
  destination: boolean;
  /** Turns the text into what goes on the wire. */
  wire: (address: string) => string;
}

const asIs = (address: string) => address;

/**
 * Scanned in order, first match wins. Decisions beyond the reference are marked:
 * - short codes (3-8 digits) go as TON 3 network-specific / NPI 0, the common SMSC
 *   convention (the reference names no rule; override per bind if the SMSC differs);
 * - other plain digit strings go as TON 0 unknown / NPI 1 ISDN, so the SMSC applies its own
 *   numbering plan instead of us guessing national or international;
 * - an alphanumeric sender is at most 11 characters of printable ASCII, the most TS 23.040's
 *   originating address can carry.
 */
const ADDRESS_RULES: ReadonlyArray<AddressRule> = [
  { kind: "international", pattern: /^\+[0-9]{1,20}$/, ton: TON.international, npi: NPI.isdn, destination: true, wire: (a) => a.slice(1) },
  { kind: "shortCode", pattern: /^[0-9]{3,8}$/, ton: TON.networkSpecific, npi: NPI.unknown, destination: true, wire: asIs },
  { kind: "number", pattern: /^[0-9]{1,20}$/, ton: TON.unknown, npi: NPI.isdn, destination: true, wire: asIs },
  { kind: "alphanumeric", pattern: /^[\x20-\x7e]{1,11}$/, ton: TON.alphanumeric, npi: NPI.unknown, destination: false, wire: asIs },
];

function checkOverride(value: number | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  return Number.isInteger(value) && value >= 0 && value <= 0xff ? undefined : `${name} override ${String(value)} is not an octet`;
}

/** Types an address for submit_sm's source (`role` "source") or destination. */
export function typeAddress(address: unknown, role: "source" | "destination", override: AddressOverride = {}): AddressResult {
  if (typeof address !== "string") return { ok: false, reason: `${role} address is not a string` };
  const text = address.trim();
  const bad = checkOverride(override.ton, "TON") ?? checkOverride(override.npi, "NPI");
  if (bad) return { ok: false, reason: bad };
  // SMPP 3.4 §4.4.1, submit_sm source_addr: "If not known, set to NULL (Unknown)"; the SMSC then
  // applies the account's default (an MT without `from`, lib/delivery/addresses.ts).
  if (text === "" && role === "source") return { ok: true, addr: "", ton: override.ton ?? TON.unknown, npi: override.npi ?? NPI.unknown, kind: "empty" };
  if (text === "") return { ok: false, reason: `${role} address is empty` };
  const rule = ADDRESS_RULES.find((r) => r.pattern.test(text) && (role === "source" || r.destination));
  if (!rule) {
    return {
      ok: false,
      reason: role === "source"
        ? `source address "${text}" is neither a number (up to 20 digits, optional +) nor an alphanumeric sender of at most 11 ASCII characters`
        : `destination address "${text}" is not a number of up to 20 digits with an optional +`,
    };
  }
  return { ok: true, addr: rule.wire(text), ton: override.ton ?? rule.ton, npi: override.npi ?? rule.npi, kind: rule.kind };
}

/**
 * An address from a deliver_sm as the message contract wants it: a number typed
 * international (TON 1) gets its "+" back, so RapidPro sees E.164.
 */
export function addressFromPdu(address: unknown, ton: unknown): string {
  return moSender(typeof address === "string" ? address.replace(/\0+$/, "") : "", ton === TON.international);
}
