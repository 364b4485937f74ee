/**
 * Tells every instance sharing a Redis store that a correlation put has committed, so a
 * receipt that arrived on instance B for an MT submitted through instance A is looked up
 * again at once (part-watch.ts), not after the timed retry of docs/design.md decision 13.
 *
 * Plain pub/sub on `<prefix>puts`, each message the JSON list of the put's part ids: it needs
 * no server setting (keyspace notifications would need `notify-keyspace-events`), and it is
 * a hint, not a record: a message lost while a subscriber reconnects only leaves that
 * receipt to the timed retry. The publisher is a connection of its own (a subscribing
 * connection can do nothing else); both follow a Sentinel failover as the store does.
 */
import type Redis from "ioredis";
import { closeRedis, connectRedis } from "./redis-connection";

/** Part ids in one message, at most: a put names a handful; anything bigger is not ours. */
const MAX_IDS = 1_000;

export class RedisPutNotifier {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channel: string;
  private closed = false;

  constructor(options: { url: string; prefix?: string; onPut: (partIds: string[]) => void; onError: (message: string) => void }) {
    this.channel = `${options.prefix ?? "rapidpro-sms:"}puts`;
    const publishing = connectRedis(options.url, { maxRetriesPerRequest: 1, onError: (m) => options.onError(`put notices: ${m}`) });
    // The subscription waits for Redis however long it takes (null: no limit), or notices would stop for good.
    const subscribing = connectRedis(options.url, { maxRetriesPerRequest: null, onError: (m) => options.onError(`put notices: ${m}`) });
    this.publisher = publishing.client;
    this.subscriber = subscribing.client;
    this.subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const ids = parseIds(message);
      if (ids) options.onPut(ids);
    });
    // ioredis subscribes again by itself after a reconnect or a failover.
    this.subscriber.subscribe(this.channel).catch((err: unknown) => options.onError(`put notices: subscribe failed: ${subscribing.scrub(err)}`));
  }

  /** Tells the other instances; never fails the put it follows (a lost notice only costs time). */
  publish(partIds: readonly string[]): void {
    if (this.closed || partIds.length === 0) return;
    this.publisher.publish(this.channel, JSON.stringify(partIds)).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)]);
  }
}

function parseIds(message: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(message);
    if (!Array.isArray(parsed) || parsed.length > MAX_IDS || !parsed.every((id) => typeof id === "string")) return undefined;
    return parsed as string[];
  } catch {
    return undefined;
  }
}
