/**
 * Source-address allow-lists for push endpoints (Rapporto protects its HTTP interface "by IP
 * addresses", and the partner side should do the same), and the one rule for finding the real
 * client behind a reverse proxy.
 */
import { shown } from "../text/peer-value";
import { parseIp, type ParsedIp } from "./ip";

interface Range {
  family: 4 | 6;
  network: bigint;
  mask: bigint;
  text: string;
}

function maskFor(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32 : 128;
  return ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
}

function parseRange(entry: string): Range {
  const [address, prefixText, extra] = entry.split("/");
  const ip = parseIp(address);
  if (!ip || extra !== undefined) throw new Error(`not an IP address or CIDR range: "${entry}"`);
  // An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is stored as the IPv4 range it covers.
  const mappedV6 = ip.family === 4 && address.includes(":");
  const bits = ip.family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) throw new Error(`bad prefix length in "${entry}"`);
    prefix = Number(prefixText) - (mappedV6 ? 96 : 0);
    if (prefix < 0 || prefix > bits) throw new Error(`prefix length out of range in "${entry}"`);
  }
  const mask = maskFor(ip.family, prefix);
  return { family: ip.family, network: ip.value & mask, mask, text: entry };
}

/** `*`: every address, IPv4 and IPv6. An allow-list is opened this wide only when written so. */
export const ANY_SOURCE = "*";

function rangesOf(entry: string): Range[] {
  if (entry !== ANY_SOURCE) return [parseRange(entry)];
  return [{ ...parseRange("0.0.0.0/0"), text: ANY_SOURCE }, { ...parseRange("::/0"), text: ANY_SOURCE }];
}

/**
 * A set of single addresses and CIDR ranges, IPv4 and IPv6. An empty list allows nothing;
 * `*` allows every address.
 */
export class AllowList {
  private readonly ranges: Range[];

  /** Entries may be separated by commas, spaces or new lines; a bad entry throws with its text. */
  constructor(spec: string | readonly string[]) {
    const entries = (typeof spec === "string" ? [spec] : spec).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== "");
    this.ranges = entries.flatMap(rangesOf);
  }

  /** Number of ranges; 0 means no source is allowed. */
  get size(): number {
    return this.ranges.length;
  }

  /** True when `*` is in the list. */
  get allowsAny(): boolean {
    return this.ranges.some((r) => r.text === ANY_SOURCE);
  }

  /** True when the address is in one of the ranges; false for anything that is not an address. */
  contains(address: string | undefined): boolean {
    const ip = address === undefined ? undefined : parseIp(address);
    return ip !== undefined && this.ranges.some((r) => matches(r, ip));
  }

  toString(): string {
    return [...new Set(this.ranges.map((r) => r.text))].join(", ");
  }
}

function matches(range: Range, ip: ParsedIp): boolean {
  return range.family === ip.family && (ip.value & range.mask) === range.network;
}

export interface ClientAddressOptions {
  /** Proxies whose X-Forwarded-For is believed; without them the header is ignored. */
  trustedProxies?: AllowList;
}

/**
 * The address a request really came from. X-Forwarded-For is only read when the TCP peer is a
 * trusted proxy, and then from the right: each trusted proxy appends the address it saw, so
 * the first entry that is not a trusted proxy is the client. Entries to its left were written
 * by that client and prove nothing. Undefined when the header is malformed, so the caller
 * refuses the request rather than guessing.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  options: ClientAddressOptions = {},
): string | undefined {
  const proxies = options.trustedProxies;
  if (!proxies || !proxies.contains(peer) || forwardedFor === undefined) return peer;
  const hops = (typeof forwardedFor === "string" ? [forwardedFor] : forwardedFor).join(",").split(",").map((h) => h.trim());
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (!parseIp(hop)) return undefined;
    client = hop;
    if (!proxies.contains(hop)) break;
  }
  return client;
}

/** Why a request is refused, or undefined when its source is allowed. */
export function refusalReason(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  allowed: AllowList,
  options: ClientAddressOptions = {},
): string | undefined {
  const client = clientAddress(peer, forwardedFor, options);
  if (client === undefined) return `malformed X-Forwarded-For from proxy ${shown(peer)}`;
  if (allowed.size === 0) return `source address ${shown(client)} refused: the allow-list is empty (enter ${ANY_SOURCE} to accept every address)`;
  if (!allowed.contains(client)) return `source address ${shown(client)} is not allowed`;
  return undefined;
}
