/**
 * IP address parsing for allow-lists. Addresses become numbers (32 bits for IPv4, 128 for
 * IPv6) so that a CIDR test is one mask-and-compare. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, what a dual-stack server reports for an IPv4 peer) is treated as the
 * IPv4 address it carries, so one allow-list entry covers both ways of seeing a peer.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

const MAPPED_PREFIX = 0xffffn << 32n;

function parseV4(text: string): bigint {
  return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
  const leftGroups = left ? left.split(":") : [];
  const rightGroups = right ? right.split(":") : [];
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = right === undefined ? leftGroups : [...leftGroups, ...Array<string>(missing).fill("0"), ...rightGroups];
  let value = groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/** Parses an IPv4 or IPv6 address (a zone such as `%eth0` is ignored); undefined if it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  const trimmed = text.trim();
  if (isIPv4(trimmed)) return { family: 4, value: parseV4(trimmed) };
  const unzoned = trimmed.replace(/%.*$/, "").replace(/^\[(.*)\]$/, "$1");
  if (!isIPv6(unzoned)) return undefined;
  const value = parseV6(unzoned);
  if (value >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}
