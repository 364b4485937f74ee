/**
 * Keys this instance holds in Redis with an expiry and a token (an outbox lease in
 * queue-redis.ts, a message lock in redis-lock.ts), kept alive while it holds them: every third
 * of `holdMs` one script extends those that still hold our token, so slow work keeps its key
 * and a dead instance's keys run out after one `holdMs` (decision 46). Not waited for on the
 * replicas: a renewal lost in a failover leaves the last expiry, and the next comes a third
 * later. A key found holding another token (or none) is dropped and told to `onLost`.
 */
import type Redis from "ioredis";

/** KEYS: the held keys. ARGV: hold ms, then each key's token. Returns the keys not ours any more. */
const RENEW = `
local lost = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then redis.call('PEXPIRE', KEYS[i], ARGV[1]) else table.insert(lost, KEYS[i]) end
end
return lost
`;

type RedisWithRenew = Redis & { renewHolds(count: number, ...keysThenArgs: (string | number)[]): Promise<string[]> };

export class RenewedHolds {
  /** Held key -> our token. */
  private readonly held = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: Redis,
    private readonly holdMs: number,
    private readonly onLost?: (keys: string[]) => void,
  ) {
    client.defineCommand("renewHolds", { lua: RENEW });
    this.timer = setInterval(() => void this.renew(), holdMs / 3);
    this.timer.unref();
  }

  hold(key: string, token: string): void {
    this.held.set(key, token);
  }

  release(key: string): void {
    this.held.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const keys = [...this.held.keys()];
    let lost: string[];
    try {
      lost = await (this.client as RedisWithRenew).renewHolds(keys.length, ...keys, this.holdMs, ...keys.map((key) => this.held.get(key)!));
    } catch {
      return; // Redis unreachable: the connection reports it, and the next round tries again.
    }
    // Released meanwhile, a key is no longer ours to report.
    const gone = lost.filter((key) => this.held.delete(key));
    if (gone.length > 0) this.onLost?.(gone);
  }
}
