/**
 * The Redis connection every Redis user here shares the set-up of (the correlation store in
 * redis.ts, the outbox in queue-redis.ts, the put notices, the message locks, the long MO
 * parts): where it connects (redis-url.ts: one server, or a master behind Sentinel), how it
 * waits through reconnects and a failover, and how errors lose their secrets.
 */
import Redis from "ioredis";
import { describeError } from "./checks";
import { parseRedisUrl } from "./redis-url";

/** An ioredis client as connectRedis sets it up, with what its users need around it. */
export interface RedisConnection {
  client: Redis;
  location: string;
  /** A driver error as a message without secrets (or why this server was refused). */
  scrub: (err: unknown) => string;
  /**
   * Resolves once every write this connection sent so far is on the replicas the URL asks for
   * (`WAIT`, asked again through a failover); rejects, saying so, when they did not confirm
   * within FAILOVER_PATIENCE_MS. Call it before acknowledging a write the guarantees rest on.
   */
  replicated: () => Promise<void>;
  /**
   * Runs a write again while the server refuses it outright (NOREPLICAS, READONLY, LOADING,
   * MASTERDOWN, or EXECABORT because of one of them: nothing was written), for at most
   * FAILOVER_PATIENCE_MS: a Sentinel failover then delays the write instead of failing it.
   */
  retryRefused: <T>(write: () => Promise<T>) => Promise<T>;
}

/**
 * How long a write waits through a failover: Sentinel's detection (down-after-milliseconds),
 * the promotion, and the old master coming back as a replica for min-replicas-to-write.
 * Shorter than courier's 30 s MT timeout, with room for the submit itself.
 */
export const FAILOVER_PATIENCE_MS = 15_000;

/** Replies that say a write was refused as a whole, and may succeed after a failover. */
const REFUSED = /^(NOREPLICAS|READONLY|LOADING|MASTERDOWN|EXECABORT)\b/;

function refusedWrite(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (REFUSED.test(err.message)) return true;
  const previous = (err as Error & { previousErrors?: Error[] }).previousErrors;
  return Array.isArray(previous) && previous.some((e) => REFUSED.test(e.message));
}

/**
 * An ioredis client set up the way every Redis user here needs it: commands wait in the
 * offline queue through a bounded number of reconnects, and are sent again when a connection
 * drops before their reply came. With Sentinel it finds the master through the sentinels and
 * follows a failover: a command answered READONLY (it reached a master just demoted) makes it
 * reconnect to the new master, and `retryRefused` sends the write again. A Redis Cluster node is refused as
 * soon as the connection is ready (the scripts name keys of several slots). `scrub` turns a
 * driver error into a message without the password; connection errors go to `onError`
 * (without a listener ioredis would print them).
 */
export function connectRedis(url: string, options: { maxRetriesPerRequest?: number | null; onError: (message: string) => void }): RedisConnection {
  const target = parseRedisUrl(url);
  let refused: string | undefined;
  const scrub = (err: unknown) => refused ?? target.secrets.reduce((message, secret) => message.split(secret).join("***"), describeError(err));
  const client = new Redis({
    ...target.connection,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 10 : options.maxRetriesPerRequest,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: true,
    // A master just demoted answers READONLY: reconnect (through the sentinels) and let
    // retryRefused send the write again; resending by itself (2) could split a MULTI.
    reconnectOnError: (err) => err.message.startsWith("READONLY"),
    // Not ioredis's failoverDetector: when it cuts a connection that is still connecting, the
    // client ends for good ("Connection is closed", seen in test/unit/store/redis-failover).
    // A dead master closes the connection anyway, and a demoted one answers READONLY.
    ...(target.sentinel ? { sentinelRetryStrategy: (times: number) => Math.min(times * 200, 2_000) } : {}),
  });
  client.on("error", (err: unknown) => options.onError(scrub(err)));
  client.on("ready", () => {
    client.info("cluster").then(
      (info) => {
        if (!/^cluster_enabled:1/m.test(info)) return;
        refused = `${target.location} is a Redis Cluster node; the bridge's scripts touch keys of several slots, so Redis Cluster is not supported: use one master with replicas, behind Sentinel (docs/deploy.md)`;
        options.onError(refused);
        client.disconnect();
      },
      () => undefined,
    );
  });
  const replicated = async () => {
    if (target.replicas === 0) return;
    const until = Date.now() + FAILOVER_PATIENCE_MS;
    for (;;) {
      const acknowledged = await client.wait(target.replicas, target.waitMs);
      if (acknowledged >= target.replicas) return;
      if (Date.now() + target.waitMs > until) {
        throw new Error(`the write reached ${acknowledged} of ${target.replicas} replica(s) within ${FAILOVER_PATIENCE_MS} ms, so a failover now could lose it`);
      }
    }
  };
  const retryRefused = async <T>(write: () => Promise<T>): Promise<T> => {
    const until = Date.now() + FAILOVER_PATIENCE_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!refusedWrite(err) || Date.now() > until) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 200, 1_000)));
      }
    }
  };
  return { client, location: target.location, scrub, replicated, retryRefused };
}

/** QUIT lets replies still on the way arrive; a server that stopped answering gets cut off. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 2_000);
  });
  await Promise.race([client.quit().catch(() => undefined), cutOff]);
  clearTimeout(timer);
  client.disconnect();
}
