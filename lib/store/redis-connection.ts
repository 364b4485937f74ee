/**
 * The Redis connection every Redis user here shares the set-up of (the correlation store in
 * redis.ts, the outbox in queue-redis.ts, the put notices, the message locks, the long MO
 * parts): where it connects (redis-url.ts: one server, or a master behind Sentinel), how it
 * waits through reconnects and a failover, and how errors lose their secrets.
 */
import type Redis from "ioredis";
import { describeError } from "./checks";
import { parseRedisUrl } from "./redis-url";

/** An ioredis client as connectRedis sets it up, with what its users need around it. */
export interface RedisConnection {
  client: Redis;
  location: string;
  /** A driver error as a message without secrets (or why this server was refused). */
  scrub: (err: unknown) => string;
  /**
   * Runs a write (through `retryRefused`) and resolves with its answer once the URL's replicas
   * have it, confirmed over the connection the write's reply came on. A `WAIT` answered over
   * another connection (a failover moved the client to a new master, where this connection has
   * written nothing) proves nothing: then `isStillThere` looks on the current master, the write
   * runs again when it is missing, and the new answer is the one waited for and returned.
   * `needsReplicas` says which answers wrote something worth waiting for (default: all).
   * Rejects, saying so, when the replicas did not confirm within FAILOVER_PATIENCE_MS. Call it for
   * every write the guarantees rest on, before acknowledging it.
   */
  durably: <T>(write: () => Promise<T>, isStillThere: (answer: T) => Promise<boolean>, needsReplicas?: (answer: T) => boolean) => Promise<T>;
  /**
   * `durably` for a removal (an outbox ack, a long MO's release): a failover that loses it only
   * brings something back to be done again, a repeat, never a loss. So once the write itself
   * succeeded, replicas that did not confirm it do not fail the caller: `report` is told, once.
   * A write that failed still rejects.
   */
  durablyRemoved: (write: () => Promise<unknown>, isGone: () => Promise<boolean>, report: (err: unknown) => void) => Promise<void>;
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

/**
 * A write that makes `WAIT` cover everything the current master holds: after a failover the
 * write being confirmed may be there only as data the new master got from the old one, and on a
 * connection that has written nothing `WAIT` need not wait for that (Redis 7.2 moves a
 * connection's offset only when its own command was replicated). PUBLISH is replicated even with
 * no subscriber, and leaves no key behind. Its channel is under the caller's key prefix, beside
 * the put notices' `<prefix>puts` (redis-notify.ts), so an ACL user allowed those may send it.
 */
const FENCE_CHANNEL = "replication-fence";

/** Replies that say a write was refused as a whole, and may succeed after a failover. */
const REFUSED = /^(NOREPLICAS|READONLY|LOADING|MASTERDOWN|EXECABORT)\b/;

function refusedWrite(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (REFUSED.test(err.message)) return true;
  const previous = (err as Error & { previousErrors?: Error[] }).previousErrors;
  return Array.isArray(previous) && previous.some((e) => REFUSED.test(e.message));
}

/**
 * ioredis, loaded on the first Redis connection: most bridges keep their store on disk, and
 * loading ioredis with Node-RED costs ~5 MB of resident memory (measured with the SMPP example
 * deployed: 127.5 vs 132.6 MB) for nothing.
 */
function ioredis(): typeof Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed, see above
  return (require("ioredis") as typeof import("ioredis")).default;
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
export function connectRedis(url: string, options: { maxRetriesPerRequest?: number | null; onError: (message: string) => void; prefix?: string }): RedisConnection {
  const target = parseRedisUrl(url);
  let refused: string | undefined;
  const scrub = (err: unknown) => refused ?? target.secrets.reduce((message, secret) => message.split(secret).join("***"), describeError(err));
  const client = new (ioredis())({
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
  // Which connection a reply came over: ioredis emits "connect" for every new connection,
  // before any reply on it. A reply and a WAIT's reply with the same number shared a master.
  let connections = 0;
  client.on("connect", () => {
    connections++;
  });
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
  const durably = async <T>(write: () => Promise<T>, isStillThere: (answer: T) => Promise<boolean>, needsReplicas: (answer: T) => boolean = () => true): Promise<T> => {
    const until = Date.now() + FAILOVER_PATIENCE_MS;
    let answer = await retryRefused(write);
    let writtenOn = connections;
    if (target.replicas === 0) return answer;
    for (;;) {
      if (!needsReplicas(answer)) return answer;
      const acknowledged = await client.wait(target.replicas, target.waitMs);
      const moved = connections !== writtenOn;
      if (!moved && acknowledged >= target.replicas) return answer;
      if (Date.now() + target.waitMs > until) {
        throw new Error(
          moved
            ? `the connection moved to another master (a failover) and the write could not be confirmed on ${target.replicas} replica(s) within ${FAILOVER_PATIENCE_MS} ms, so a failover now could lose it`
            : `the write reached ${acknowledged} of ${target.replicas} replica(s) within ${FAILOVER_PATIENCE_MS} ms, so a failover now could lose it`,
        );
      }
      if (!moved) continue;
      // The write may have stayed with the old master: look on this one, write it again if it
      // is missing, and wait for what this master holds.
      const there = await isStillThere(answer);
      const checkedOn = connections;
      if (there) {
        await client.publish(`${options.prefix ?? "rapidpro-sms:"}${FENCE_CHANNEL}`, "");
        // Moved again between the look and the fence: look again.
        writtenOn = connections === checkedOn ? checkedOn : -1;
      } else {
        answer = await retryRefused(write);
        writtenOn = connections;
      }
    }
  };
  const durablyRemoved = async (write: () => Promise<unknown>, isGone: () => Promise<boolean>, report: (err: unknown) => void): Promise<void> => {
    let removed = false;
    try {
      await durably(async () => {
        await write();
        removed = true;
      }, isGone);
    } catch (err) {
      if (!removed) throw err;
      report(err);
    }
  };
  return { client, location: target.location, scrub, retryRefused, durably, durablyRemoved };
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
