/**
 * Store URLs (lib/store/redis-url.ts): a table of URLs and what they open, and of bad URLs
 * and the reason given. No message and no `location` may hold a password.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isRedisUrl, parseRedisUrl } from "../../../lib/store/redis-url";

const good: { url: string; connection: Record<string, unknown>; location: string; sentinel: boolean; replicas: number; waitMs?: number }[] = [
  {
    url: "redis://127.0.0.1:6380",
    connection: { host: "127.0.0.1", port: 6380, db: 0 },
    location: "redis://127.0.0.1:6380",
    sentinel: false,
    replicas: 0,
  },
  {
    url: "redis://redis.example",
    connection: { host: "redis.example", port: 6379, db: 0 },
    location: "redis://redis.example",
    sentinel: false,
    replicas: 0,
  },
  {
    url: "redis://user:p%40ss%20word@redis.example:6380/2",
    connection: { host: "redis.example", port: 6380, db: 2, username: "user", password: "p@ss word" },
    location: "redis://user:***@redis.example:6380/2",
    sentinel: false,
    replicas: 0,
  },
  {
    url: "rediss://:hunter2@[::1]:6390/1?replicas=1&waitMs=500",
    connection: { host: "::1", port: 6390, db: 1, password: "hunter2", tls: { servername: "::1" } },
    location: "rediss://:***@[::1]:6390/1",
    sentinel: false,
    replicas: 1,
    waitMs: 500,
  },
  {
    url: "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster",
    connection: { sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26380 }], name: "mymaster", role: "master", db: 0 },
    location: "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster",
    sentinel: true,
    replicas: 1,
    waitMs: 1000,
  },
  {
    url: "redis+sentinel://:s3cr%3At@a.example,b.example:26400,[fe80::1]/bridge-master?db=3",
    connection: {
      sentinels: [{ host: "a.example", port: 26379 }, { host: "b.example", port: 26400 }, { host: "fe80::1", port: 26379 }],
      name: "bridge-master",
      role: "master",
      db: 3,
      password: "s3cr:t",
    },
    location: "redis+sentinel://:***@a.example:26379,b.example:26400,[fe80::1]:26379/bridge-master?db=3",
    sentinel: true,
    replicas: 1,
  },
  {
    url: "redis+sentinel://app:pw@h1:26379/m?replicas=2&waitMs=250&sentinelPassword=sentinel-secret",
    connection: { sentinels: [{ host: "h1", port: 26379 }], name: "m", role: "master", db: 0, username: "app", password: "pw", sentinelPassword: "sentinel-secret" },
    location: "redis+sentinel://app:***@h1:26379/m?replicas=2&waitMs=250&sentinelPassword=***",
    sentinel: true,
    replicas: 2,
    waitMs: 250,
  },
  {
    url: "redis+sentinel://h1/m?replicas=0",
    connection: { sentinels: [{ host: "h1", port: 26379 }], name: "m", role: "master", db: 0 },
    location: "redis+sentinel://h1:26379/m?replicas=0",
    sentinel: true,
    replicas: 0,
  },
  {
    url: "rediss+sentinel://:pw@h1:26379/m",
    connection: { sentinels: [{ host: "h1", port: 26379 }], name: "m", role: "master", db: 0, password: "pw", tls: {}, enableTLSForSentinelMode: true },
    location: "rediss+sentinel://:***@h1:26379/m",
    sentinel: true,
    replicas: 1,
  },
];

const bad: { url: string; error: RegExp; secret?: string }[] = [
  { url: "http://user:hunter2@x", error: /must start with redis:\/\/ or rediss:\/\/ .*not http:\/\//, secret: "hunter2" },
  { url: "not a url hunter2", error: /must start with redis:\/\//, secret: "hunter2" },
  { url: "redis://:hunter2@[bad", error: /the URL is not valid/, secret: "hunter2" },
  { url: "redis://:hunter2@host/x", error: /the path of the URL must be a database number/, secret: "hunter2" },
  { url: "redis://:hunter2@host?replica=1", error: /unknown option "replica"; allowed: replicas, waitMs/, secret: "hunter2" },
  { url: "redis://:hunter2@host?replicas=-1", error: /replicas in the URL must be a whole number of at least 0/, secret: "hunter2" },
  { url: "redis://:hunter2@host?waitMs=0", error: /waitMs in the URL must be a whole number of at least 1/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:26379,h2:26379", error: /must end with the master's name .* got none/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:26379/", error: /must end with the master's name/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:26379/a/b", error: /must end with the master's name .* got another path/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@/m", error: /sentinel 1 of the URL is not host\[:port\]/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:26379,,h2/m", error: /sentinel 2 of the URL is not host\[:port\]/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:99999/m", error: /sentinel 1 of the URL has port 99999, not a TCP port/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1:x/m", error: /sentinel 1 of the URL is not host\[:port\]/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1/m?db=abc", error: /db of the URL must be a database number/, secret: "hunter2" },
  { url: "redis+sentinel://:hunter2@h1/m?hunter2=1", error: /the URL has an unknown option;/, secret: "hunter2" },
  { url: "redis+sentinel://h1/m?sentinelPassword=hunter2&dbb=1", error: /unknown option "dbb"/, secret: "hunter2" },
];

describe("parseRedisUrl", () => {
  for (const c of good) {
    test(`opens ${c.location}`, () => {
      const target = parseRedisUrl(c.url);
      assert.deepEqual(target.connection, c.connection);
      assert.equal(target.location, c.location);
      assert.equal(target.sentinel, c.sentinel);
      assert.equal(target.replicas, c.replicas);
      assert.equal(target.waitMs, c.waitMs ?? 1000);
      for (const secret of [c.connection.password, c.connection.sentinelPassword]) {
        if (typeof secret !== "string") continue;
        assert.ok(!target.location.includes(secret), "location holds no password");
        assert.ok(target.secrets.includes(secret), "the password is among the secrets to scrub");
      }
      assert.ok(isRedisUrl(c.url));
    });
  }

  for (const c of bad) {
    test(`refuses ${c.url.replace(c.secret ?? "\u0000", "***")}`, () => {
      assert.throws(
        () => parseRedisUrl(c.url),
        (err: Error) => {
          assert.match(err.message, c.error);
          if (c.secret) assert.ok(!err.message.includes(c.secret), `the message must not hold the password: ${err.message}`);
          return true;
        },
      );
    });
  }

  test("isRedisUrl tells Redis URLs from others", () => {
    assert.equal(isRedisUrl("memory:"), false);
    assert.equal(isRedisUrl("http://x"), false);
    assert.equal(isRedisUrl("REDIS+SENTINEL://h/m"), true);
  });
});
