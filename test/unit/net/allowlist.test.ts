import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AllowList, clientAddress, refusalReason } from "../../../lib/net/allowlist";
import { parseIp } from "../../../lib/net/ip";

describe("parseIp", () => {
  const cases: { name: string; input: string; expected: { family: 4 | 6; value: bigint } | undefined }[] = [
    { name: "IPv4", input: "192.0.2.1", expected: { family: 4, value: 0xc0000201n } },
    { name: "IPv6 full", input: "2001:db8:0:0:0:0:0:1", expected: { family: 6, value: 0x20010db8000000000000000000000001n } },
    { name: "IPv6 compressed", input: "2001:db8::1", expected: { family: 6, value: 0x20010db8000000000000000000000001n } },
    { name: "IPv6 loopback", input: "::1", expected: { family: 6, value: 1n } },
    { name: "IPv6 unspecified", input: "::", expected: { family: 6, value: 0n } },
    { name: "IPv6 trailing ::", input: "fe80::", expected: { family: 6, value: 0xfe80n << 112n } },
    { name: "IPv6 with zone", input: "fe80::1%eth0", expected: { family: 6, value: (0xfe80n << 112n) | 1n } },
    { name: "IPv6 in brackets", input: "[2001:db8::1]", expected: { family: 6, value: 0x20010db8000000000000000000000001n } },
    { name: "IPv4-mapped IPv6 is the IPv4 address", input: "::ffff:192.0.2.1", expected: { family: 4, value: 0xc0000201n } },
    { name: "IPv4-mapped IPv6 in hex form", input: "::ffff:c000:201", expected: { family: 4, value: 0xc0000201n } },
    { name: "IPv4-compatible embedded tail stays IPv6", input: "64:ff9b::192.0.2.1", expected: { family: 6, value: (0x64n << 112n) | (0xff9bn << 96n) | 0xc0000201n } },
    { name: "hostname", input: "localhost", expected: undefined },
    { name: "IPv4 out of range", input: "256.1.1.1", expected: undefined },
    { name: "empty", input: "", expected: undefined },
    { name: "IPv4 with port", input: "192.0.2.1:80", expected: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseIp(c.input), c.expected));
});

describe("AllowList.contains", () => {
  const cases: { name: string; list: string; address: string | undefined; expected: boolean }[] = [
    { name: "single IPv4 match", list: "192.0.2.10", address: "192.0.2.10", expected: true },
    { name: "single IPv4 other", list: "192.0.2.10", address: "192.0.2.11", expected: false },
    { name: "IPv4 /24 inside", list: "10.1.2.0/24", address: "10.1.2.255", expected: true },
    { name: "IPv4 /24 outside", list: "10.1.2.0/24", address: "10.1.3.0", expected: false },
    { name: "IPv4 range written with host bits set", list: "10.1.2.77/24", address: "10.1.2.1", expected: true },
    { name: "IPv4 /0 matches every IPv4", list: "0.0.0.0/0", address: "203.0.113.9", expected: true },
    { name: "IPv4 /0 does not match IPv6", list: "0.0.0.0/0", address: "2001:db8::1", expected: false },
    { name: "IPv4 /32", list: "10.0.0.1/32", address: "10.0.0.1", expected: true },
    { name: "IPv4 entry matches IPv4-mapped peer", list: "127.0.0.1", address: "::ffff:127.0.0.1", expected: true },
    { name: "IPv6 single", list: "2001:db8::5", address: "2001:db8:0::5", expected: true },
    { name: "IPv6 /64 inside", list: "2001:db8:1:2::/64", address: "2001:db8:1:2:ffff::1", expected: true },
    { name: "IPv6 /64 outside", list: "2001:db8:1:2::/64", address: "2001:db8:1:3::1", expected: false },
    { name: "IPv6 /127", list: "2001:db8::/127", address: "2001:db8::1", expected: true },
    { name: "IPv6 /127 outside", list: "2001:db8::/127", address: "2001:db8::2", expected: false },
    { name: "IPv6 ::/0 does not match IPv4", list: "::/0", address: "192.0.2.1", expected: false },
    { name: "IPv4-mapped range entry covers IPv4", list: "::ffff:10.0.0.0/104", address: "10.200.0.1", expected: true },
    { name: "list separated by commas, spaces and new lines", list: "192.0.2.1, 10.0.0.0/8\n2001:db8::/32", address: "2001:db8:ff::1", expected: true },
    { name: "empty list allows nothing", list: "", address: "127.0.0.1", expected: false },
    { name: "* allows every IPv4 address", list: "*", address: "203.0.113.9", expected: true },
    { name: "* allows every IPv6 address", list: "*", address: "2001:db8::1", expected: true },
    { name: "* with other entries", list: "10.0.0.1, *", address: "192.0.2.1", expected: true },
    { name: "* does not make garbage an address", list: "*", address: "not-an-ip", expected: false },
    { name: "missing address", list: "0.0.0.0/0", address: undefined, expected: false },
    { name: "garbage address", list: "0.0.0.0/0", address: "not-an-ip", expected: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(new AllowList(c.list).contains(c.address), c.expected));

  const bad: { name: string; list: string; reason: RegExp }[] = [
    { name: "hostname", list: "example.org", reason: /not an IP address or CIDR range: "example.org"/ },
    { name: "IPv4 prefix too long", list: "10.0.0.0/33", reason: /prefix length out of range/ },
    { name: "IPv6 prefix too long", list: "::/129", reason: /prefix length out of range/ },
    { name: "prefix not a number", list: "10.0.0.0/x", reason: /bad prefix length/ },
    { name: "two slashes", list: "10.0.0.0/8/8", reason: /not an IP address or CIDR range/ },
    { name: "one bad entry among good ones", list: "10.0.0.1, 10.0.0", reason: /"10.0.0"/ },
  ];
  for (const c of bad) test(`refuses ${c.name}`, () => assert.throws(() => new AllowList(c.list), c.reason));
});

describe("clientAddress (X-Forwarded-For only from named proxies)", () => {
  const proxies = new AllowList("10.0.0.1, 10.0.0.2, fd00::1");
  const cases: { name: string; peer: string; xff: string | string[] | undefined; trusted: boolean; expected: string | undefined }[] = [
    { name: "no proxies configured: header ignored", peer: "203.0.113.5", xff: "192.0.2.1", trusted: false, expected: "203.0.113.5" },
    { name: "peer is not a trusted proxy: header ignored", peer: "203.0.113.5", xff: "192.0.2.1", trusted: true, expected: "203.0.113.5" },
    { name: "trusted proxy, one hop", peer: "10.0.0.1", xff: "192.0.2.1", trusted: true, expected: "192.0.2.1" },
    { name: "trusted proxy, no header: the proxy itself", peer: "10.0.0.1", xff: undefined, trusted: true, expected: "10.0.0.1" },
    { name: "client-written entries left of the real client are ignored", peer: "10.0.0.1", xff: "1.1.1.1, 192.0.2.1", trusted: true, expected: "192.0.2.1" },
    { name: "chain of trusted proxies is skipped from the right", peer: "10.0.0.1", xff: "192.0.2.1, 10.0.0.2", trusted: true, expected: "192.0.2.1" },
    { name: "header given twice is one list", peer: "10.0.0.1", xff: ["192.0.2.1", "10.0.0.2"], trusted: true, expected: "192.0.2.1" },
    { name: "IPv6 proxy and client", peer: "fd00::1", xff: "2001:db8::7", trusted: true, expected: "2001:db8::7" },
    { name: "every hop a trusted proxy: the leftmost", peer: "10.0.0.1", xff: "10.0.0.2", trusted: true, expected: "10.0.0.2" },
    { name: "malformed hop from a trusted proxy", peer: "10.0.0.1", xff: "192.0.2.1, junk", trusted: true, expected: undefined },
    { name: "empty header from a trusted proxy", peer: "10.0.0.1", xff: "", trusted: true, expected: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(clientAddress(c.peer, c.xff, c.trusted ? { trustedProxies: proxies } : {}), c.expected));
  }
});

describe("refusalReason", () => {
  const allowed = new AllowList("192.0.2.0/24");
  const proxies = new AllowList("10.0.0.1");
  const cases: { name: string; peer: string; xff?: string; expected: RegExp | undefined }[] = [
    { name: "allowed direct peer", peer: "192.0.2.9", expected: undefined },
    { name: "refused direct peer", peer: "198.51.100.1", expected: /source address 198\.51\.100\.1 is not allowed/ },
    { name: "allowed client behind trusted proxy", peer: "10.0.0.1", xff: "192.0.2.9", expected: undefined },
    { name: "refused client behind trusted proxy", peer: "10.0.0.1", xff: "198.51.100.1", expected: /198\.51\.100\.1 is not allowed/ },
    { name: "spoofed header from an untrusted peer", peer: "198.51.100.1", xff: "192.0.2.9", expected: /198\.51\.100\.1 is not allowed/ },
    { name: "malformed header from trusted proxy", peer: "10.0.0.1", xff: "x", expected: /malformed X-Forwarded-For/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reason = refusalReason(c.peer, c.xff, allowed, { trustedProxies: proxies });
      if (c.expected === undefined) assert.equal(reason, undefined);
      else assert.match(reason ?? "", c.expected);
    });
  }
});

describe("refusalReason with an empty list or *", () => {
  test("an empty list refuses and says how to open it", () => {
    assert.match(refusalReason("127.0.0.1", undefined, new AllowList("")) ?? "", /the allow-list is empty \(enter \* to accept every address\)/);
  });
  test("* accepts any peer", () => assert.equal(refusalReason("198.51.100.1", undefined, new AllowList("*")), undefined));
  test("a zone id with control characters is shown escaped", () => {
    assert.match(refusalReason("fe80::1%eth0\r\nforged", undefined, new AllowList("10.0.0.1")) ?? "", /fe80::1%eth0\\r\\nforged is not allowed/);
  });
});
