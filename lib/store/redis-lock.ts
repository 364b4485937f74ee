/**
 * One holder at a time per name across every instance sharing a Redis store: how the receipts
 * of one message, arriving on two instances' binds at once, are still taken one at a time
 * (smpp-in takes them one at a time within an instance; decision 10 needs it across all).
 * Without it an ENROUTE handled on one instance and the DELIVRD handled on the other could
 * both be reported from the same record, and reach RapidPro as `delivered` then `sent`.
 *
 * SET NX with an expiry and a token; only the holder's token deletes it. The holder renews
 * the expiry every third of it while it works, so a slow hand-over keeps the name, and a holder
 * that died keeps it only until the expiry (20 s: the receipts of a killed instance's messages
 * wait that long, not a minute); a waiter gives up after `waitMs` (the caller then answers the
 * SMSC "try later"). Kept through a failover by retrying refused writes, not replicated:
 * a lock lost in a failover only reopens the race it closes, for that instant.
 */
import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { closeRedis, connectRedis } from "./redis-connection";
import { RenewedHolds } from "./redis-holds";

/**
 * KEYS: the lock. ARGV: token, hold ms. Takes the lock, or answers 1 when it already holds this
 * token: ioredis sends a command again when a reconnect lost its reply (a Redis restart cuts the
 * connection after running it), and a plain SET NX, run twice, found its own first run and waited
 * for the lock it held until HOLD_MS, leaving the message's receipts unanswered that long.
 */
const TAKE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** A hold, renewed every third of it while the holder works: how long a dead holder blocks the name. */
const HOLD_MS = 20_000;
/** Longest wait for a name another instance holds. */
const WAIT_MS = 20_000;
const POLL_MS = 15;

type RedisWithRelease = Redis & {
  takeLock(key: string, token: string, holdMs: number): Promise<number>;
  releaseLock(key: string, token: string): Promise<number>;
};

export class RedisLocks {
  private readonly client: RedisWithRelease;
  private readonly prefix: string;
  private readonly retryRefused: <R>(write: () => Promise<R>) => Promise<R>;
  private readonly scrub: (err: unknown) => string;
  private readonly holdMs: number;
  /** The locks this instance holds, renewed while their work runs. */
  private readonly holds: RenewedHolds;

  constructor(options: { url: string; prefix?: string; holdMs?: number; onError: (message: string) => void }) {
    const connection = connectRedis(options.url, { onError: (m) => options.onError(`message locks: ${m}`) });
    this.client = connection.client as RedisWithRelease;
    this.retryRefused = connection.retryRefused;
    this.scrub = connection.scrub;
    this.prefix = `${options.prefix ?? "rapidpro-sms:"}lock:`;
    this.client.defineCommand("takeLock", { numberOfKeys: 1, lua: TAKE });
    this.client.defineCommand("releaseLock", { numberOfKeys: 1, lua: RELEASE });
    this.holdMs = options.holdMs ?? HOLD_MS;
    this.holds = new RenewedHolds(this.client, this.holdMs);
  }

  /**
   * Runs `fn` holding `name`. `fn` is always told to read the record again (`true`): another
   * instance may have taken and left the name between the caller's read and this lock, and
   * nothing here can see that (seen as delivered-then-sent in test/e2e/instances.test.ts).
   */
  async run<T>(name: string, fn: (waited: boolean) => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
    const key = this.prefix + name;
    const token = randomUUID();
    const until = Date.now() + (options.waitMs ?? WAIT_MS);
    for (;;) {
      let taken: number;
      try {
        taken = await this.retryRefused(() => this.client.takeLock(key, token, this.holdMs));
      } catch (err) {
        throw new Error(`message lock for ${JSON.stringify(name)} failed: ${this.scrub(err)}`);
      }
      if (taken === 1) break;
      if (Date.now() > until) throw new Error(`another instance has held message ${JSON.stringify(name)} for over ${options.waitMs ?? WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    this.holds.hold(key, token);
    try {
      return await fn(true);
    } finally {
      this.holds.release(key);
      // Refused during a failover (NOREPLICAS until the new master's replica is back), a release
      // left the message's receipts waiting for HOLD_MS: it is sent again like any write.
      await this.retryRefused(() => this.client.releaseLock(key, token)).catch(() => undefined);
    }
  }

  close(): Promise<void> {
    this.holds.close();
    return closeRedis(this.client);
  }
}
