/**
 * Where the bridge keeps its state: the correlation store of each bind or account, and the
 * durable queue of calls bound for RapidPro. Empty URL: the embedded store in the Node-RED user
 * directory; `redis://…`: Redis, shared by several Node-RED instances; `memory:` for tests.
 */
import os from "node:os";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { openQueue, openStore, type SharedCorrelationStore } from "../../lib/store";
import { RedisPartGroups } from "../../lib/store/parts-redis";
import type { DurableQueue } from "../../lib/store/queue";
import { isRedisUrl } from "../../lib/store/redis-url";
import { withinMs } from "../../lib/time-limit";
import { resolveEnvReference } from "./env";

export function stateDir(RED: NodeAPI): string {
  const userDir = (RED.settings as { userDir?: string }).userDir;
  return userDir ?? path.join(os.homedir(), ".node-red");
}

export function openNodeStore(RED: NodeAPI, url: string | undefined, ttlHours: number | undefined, onBackgroundError: (err: Error) => void): Promise<SharedCorrelationStore> {
  return openStore({ url: resolveEnvReference(url).trim() || undefined, dir: stateDir(RED), ttlMs: ttlHours ? ttlHours * 3_600_000 : undefined, onBackgroundError });
}

export function openNodeQueue<T>(RED: NodeAPI, url: string | undefined, name: string, onBackgroundError: (err: Error) => void): Promise<DurableQueue<T>> {
  return openQueue<T>({ url: resolveEnvReference(url).trim() || undefined, dir: stateDir(RED), name, onBackgroundError });
}

/**
 * Where a bind's long MO parts are kept when its store is shared by several instances (Redis,
 * docs/design.md decision 36); undefined for the embedded and memory stores, whose parts stay
 * in this instance's queue (decision 17).
 */
export function openSharedPartGroups(storeUrl: string | undefined, bindId: string, onBackgroundError: (err: Error) => void): RedisPartGroups | undefined {
  const url = resolveEnvReference(storeUrl).trim();
  if (!isRedisUrl(url)) return undefined;
  try {
    return new RedisPartGroups({ url, bind: bindId.replace(/[^A-Za-z0-9_.-]/g, "_"), onBackgroundError });
  } catch (err) {
    onBackgroundError(err as Error);
    return undefined;
  }
}

/** How long a correlation store may take to answer its first question at start. */
export const STORE_CHECK_MS = 10_000;

/**
 * The correlation store, opened and asked one question (a lookup of an id no message has)
 * within STORE_CHECK_MS. A store that cannot be used (an unknown scheme, a Redis that does not
 * answer) rejects at once, so its node reports it in red at start, rather than when the first
 * message has nowhere to be recorded (issue #14, "No silent loss of a promise").
 */
export function openCheckedStore(RED: NodeAPI, url: string | undefined, owner: string, onBackgroundError: (err: Error) => void): Promise<SharedCorrelationStore> {
  return openNodeStore(RED, url, undefined, onBackgroundError).then(async (store) => {
    try {
      await withinMs(store.findByMessage(`${owner}:store-check`), STORE_CHECK_MS, `no answer within ${STORE_CHECK_MS / 1000} s`);
      return store;
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  });
}
