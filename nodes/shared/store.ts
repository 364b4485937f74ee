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
