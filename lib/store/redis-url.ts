/**
 * Redis store URLs: one server, or a master found through Redis Sentinel.
 *
 *   redis://[user][:password@]host[:6379][/db][?replicas=N&waitMs=M]
 *   rediss://...                                         (TLS)
 *   redis+sentinel://[user][:password@]host1[:26379],host2[:26379]/<master name>[?db=N&replicas=N&waitMs=M&sentinelPassword=P]
 *   rediss+sentinel://...                                (TLS to the data nodes and the sentinels)
 *
 * `replicas` is how many replicas every acknowledged write waits for (Redis `WAIT`), within
 * `waitMs`: a write the bridge acknowledged (an MT's correlation, a status or MO in the outbox)
 * is then on a replica too, so Sentinel promoting that replica after the master died keeps it.
 * Default: 1 with Sentinel (a failover is the point of it), 0 with one server.
 *
 * The password never reaches a message: errors name the part of the URL that is wrong, not
 * the URL, and `location` is the URL with every secret replaced by `***`.
 */
import type { RedisOptions } from "ioredis";

export interface RedisTarget {
  /** ioredis connection options (where and who), without retry settings. */
  connection: RedisOptions;
  /** The URL without secrets, for messages. */
  location: string;
  /** Secrets as they may appear in driver messages (raw and percent-decoded). */
  secrets: string[];
  sentinel: boolean;
  /** Replicas every acknowledged write waits for (`WAIT`), and for how long at most. */
  replicas: number;
  waitMs: number;
}

const DEFAULT_WAIT_MS = 1_000;
const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;
const USAGE =
  "expected redis://[user:password@]host:port[/db], rediss://..., or redis+sentinel://[:password@]host1:26379,host2:26379/<master name>[?db=N]";

/** Parses a store URL; throws a message that names what is wrong and holds no secret. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") return parseSingle(url, scheme === "rediss");
  if (scheme === "redis+sentinel" || scheme === "rediss+sentinel") return parseSentinel(url, scheme === "rediss+sentinel");
  throw new Error(`redis store: the URL must start with redis:// or rediss:// (or redis+sentinel://, rediss+sentinel://), not ${scheme ? `${scheme}://` : "something else"} (${USAGE})`);
}

function parseSingle(url: string, tls: boolean): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`redis store: the URL is not valid (${USAGE})`);
  }
  const secrets = secretSpellings(parsed.password);
  const options = queryOptions(parsed.searchParams, ["replicas", "waitMs"], secrets);
  const dbPath = parsed.pathname.replace(/^\//, "");
  const db = dbPath === "" ? 0 : databaseNumber(dbPath, "the path");
  const port = parsed.port === "" ? REDIS_PORT : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new Error(`redis store: the URL has no host (${USAGE})`);
  const connection: RedisOptions = { host, port, db };
  if (parsed.username) connection.username = safeDecode(parsed.username);
  if (parsed.password) connection.password = safeDecode(parsed.password);
  if (tls) connection.tls = { servername: host };
  if (parsed.password) parsed.password = "***";
  parsed.search = "";
  return {
    connection,
    location: parsed.toString(),
    secrets,
    sentinel: false,
    replicas: count(options.replicas, "replicas", 0),
    waitMs: count(options.waitMs, "waitMs", DEFAULT_WAIT_MS, 1),
  };
}

function parseSentinel(url: string, tls: boolean): RedisTarget {
  const match = /^[a-z+]+:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url);
  if (!match) throw new Error(`redis store: the Sentinel URL is not valid (${USAGE})`);
  const [, userinfo, hostList, masterName, query] = match;
  const colon = userinfo?.indexOf(":") ?? -1;
  const username = userinfo === undefined ? "" : colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = userinfo === undefined || colon < 0 ? "" : userinfo.slice(colon + 1);
  const secrets = secretSpellings(password);
  const params = new URLSearchParams(query ?? "");
  const options = queryOptions(params, ["db", "replicas", "waitMs", "sentinelPassword"], secrets);
  const sentinelPassword = options.sentinelPassword ?? "";
  secrets.push(...secretSpellings(sentinelPassword));

  const sentinels = hostList.split(",").map((entry, index) => sentinelAddress(entry.trim(), index));
  if (sentinels.length === 0 || hostList.trim() === "") throw new Error(`redis store: the Sentinel URL names no sentinel (${USAGE})`);
  const name = safeDecode(masterName ?? "");
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) {
    throw new Error(`redis store: the Sentinel URL must end with the master's name (/<master name>: letters, digits, '.', '_', '-'), got ${name === "" ? "none" : "another path"} (${USAGE})`);
  }
  const connection: RedisOptions = { sentinels, name, role: "master", db: options.db === undefined ? 0 : databaseNumber(options.db, "db") };
  if (username) connection.username = safeDecode(username);
  if (password) connection.password = safeDecode(password);
  if (sentinelPassword) connection.sentinelPassword = sentinelPassword;
  if (tls) {
    connection.tls = {};
    connection.enableTLSForSentinelMode = true;
  }
  const shownUser = username ? `${username}${password ? ":***" : ""}@` : password ? ":***@" : "";
  const shownQuery = new URLSearchParams(params);
  if (shownQuery.has("sentinelPassword")) shownQuery.set("sentinelPassword", "***");
  const queryText = shownQuery.toString().replace(/%2A/g, "*");
  return {
    connection,
    location: `${tls ? "rediss" : "redis"}+sentinel://${shownUser}${sentinels.map((s) => `${s.host?.includes(":") ? `[${s.host}]` : s.host}:${s.port}`).join(",")}/${name}${queryText ? `?${queryText}` : ""}`,
    secrets: [...new Set(secrets)],
    sentinel: true,
    replicas: count(options.replicas, "replicas", 1),
    waitMs: count(options.waitMs, "waitMs", DEFAULT_WAIT_MS, 1),
  };
}

function sentinelAddress(entry: string, index: number): { host: string; port: number } {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(entry);
  if (!match) throw new Error(`redis store: sentinel ${index + 1} of the URL is not host[:port]`);
  const host = match[1] ?? match[2];
  const port = match[3] === undefined ? SENTINEL_PORT : Number(match[3]);
  if (port < 1 || port > 65535) throw new Error(`redis store: sentinel ${index + 1} of the URL has port ${port}, not a TCP port`);
  return { host, port };
}

/** The query's options; an unknown one is refused, so a misspelt `replica=1` does not silently mean 0. */
function queryOptions(params: URLSearchParams, allowed: string[], secrets: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of params) {
    if (!allowed.includes(key)) {
      const shown = secrets.some((s) => key.includes(s)) ? "an unknown option" : `unknown option ${JSON.stringify(key.slice(0, 40))}`;
      throw new Error(`redis store: the URL has ${shown}; allowed: ${allowed.join(", ")}`);
    }
    out[key] = value;
  }
  return out;
}

function databaseNumber(text: string, where: string): number {
  if (!/^\d{1,2}$/.test(text)) throw new Error(`redis store: ${where} of the URL must be a database number (0 to 99)`);
  return Number(text);
}

function count(text: string | undefined, name: string, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text) || Number(text) < min) throw new Error(`redis store: ${name} in the URL must be a whole number of at least ${min}`);
  return Number(text);
}

function secretSpellings(secret: string): string[] {
  if (!secret) return [];
  return [...new Set([secret, safeDecode(secret), encodeURIComponent(safeDecode(secret))].filter((s) => s.length > 0))];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Whether a URL names Redis (any of the schemes above). */
export function isRedisUrl(url: string): boolean {
  return /^rediss?(\+sentinel)?:\/\//i.test(url);
}
