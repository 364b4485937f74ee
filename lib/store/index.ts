/**
 * Opens correlation stores and queues by URL, and shares each one within the process.
 *
 * Several Node-RED config nodes may name the same store; they must get the same one (two LMDB
 * handles on one file in one process are not allowed, and one Redis connection is enough).
 * So each store is opened once per URL or directory and reference counted: every `open*`
 * returns its own handle, and the store closes when the last handle does.
 */
import path from "node:path";
import { checkPartState, checkPut, checkTtl } from "./checks";
import { EMBEDDED_STORE_DIRNAME, EmbeddedStore } from "./embedded";
import { MemoryStore } from "./memory";
import { PartWatches, type PartWatch } from "./part-watch";
import { checkQueueName, checkRememberMs, DEFAULT_REMEMBER_MS, type DurableQueue } from "./queue";
import { EmbeddedQueue, embeddedQueueDir } from "./queue-embedded";
import { MemoryQueue } from "./queue-memory";
import { RedisQueue } from "./queue-redis";
import { RedisStore } from "./redis";
import { RedisLocks } from "./redis-lock";
import { RedisPutNotifier } from "./redis-notify";
import { isRedisUrl, parseRedisUrl } from "./redis-url";
import { DEFAULT_TTL_MS, type CorrelationStore } from "./types";

export interface StoreOptions {
  /**
   * Unset: embedded store in `dir`. `redis://...`, `rediss://...`: Redis; `redis+sentinel://...`:
   * Redis behind Sentinel (redis-url.ts). `memory:`: in memory, lost on restart.
   */
  url?: string;
  /** Directory for the embedded store (the Node-RED user directory); the store makes a folder inside it. */
  dir?: string;
  /** How long an entry lives; default 72 h. */
  ttlMs?: number;
  /**
   * Told about failures no call can report (Redis connection lost, an expiry sweep that
   * failed). Of several users of one store, the first one's listener is kept.
   */
  onBackgroundError?: (err: Error) => void;
}

export interface QueueOptions {
  /** Unset: embedded queue in `dir`. `redis://...`: Redis, shared by several instances. `memory:`: in memory. */
  url?: string;
  dir?: string;
  /** Names the queue within its store: letters, digits, '-' and '_'. */
  name: string;
  /** How long `pushOnce` remembers a once-id; default 72 h, as long as the store keeps a message. */
  rememberMs?: number;
  /** As in StoreOptions: told about damaged items set aside. */
  onBackgroundError?: (err: Error) => void;
}

interface Shared<T> {
  opening: Promise<T>;
  users: number;
  /** Something about how it was opened that later users must agree with. */
  settings: string;
}

/**
 * A store as the nodes get it: the store's own methods, plus watches on part ids that its
 * puts wake: in this process, and with Redis in every instance sharing it (part-watch.ts).
 */
export interface SharedCorrelationStore extends CorrelationStore {
  /** Watches part ids a lookup missed; a put naming one of them, once ended, ends the watch. */
  watchParts(partIds: readonly string[]): PartWatch;
  /**
   * Runs `fn` while no other instance sharing this store runs one for the same message
   * (redis-lock.ts); `waited` true means "read the record again": with Redis always, since
   * another instance may have gone between the caller's read and the lock. Without Redis there
   * is no other instance, and `fn(false)` runs at once (callers serialise within the process).
   */
  exclusive<T>(rapidproId: string, fn: (waited: boolean) => Promise<T>): Promise<T>;
}

/** An open store and the watches its puts wake: one entry, opened and closed together. */
interface OpenStore {
  store: CorrelationStore;
  watches: PartWatches;
  /** With Redis: tells the other instances about this one's puts, and hears theirs. */
  notifier?: RedisPutNotifier;
  /** With Redis: one instance at a time per message. */
  locks?: RedisLocks;
  close(): Promise<void>;
}

const stores = new Map<string, Shared<OpenStore>>();
const queues = new Map<string, Shared<DurableQueue<unknown>>>();

/** Where a store keeps its data: what lives beside it (lib/trace/log.ts) goes there too. */
export type StoreLocation = { backend: "embedded"; dir: string } | { backend: "redis"; url: string } | { backend: "memory" };
/** Opened with every store, closed with it; told about the store's background errors. */
export type StoreCompanion = (location: StoreLocation, onBackgroundError?: (err: Error) => void) => { close(): Promise<void> } | undefined;
const companions: StoreCompanion[] = [];

/** Opens `companion` with every store opened from now on (the message trace, lib/trace/log.ts). */
export function besideEveryStore(companion: StoreCompanion): void {
  companions.push(companion);
}

/** An open store or queue, as a health check sees it: no URL, no password, just what and where. */
export interface OpenResource {
  kind: "store" | "queue";
  /** The queue's name; "correlation" for a store. */
  name: string;
  backend: "embedded" | "redis" | "memory";
  /** One round trip (a lookup, a count); resolves with the queue's depth, rejects when unreachable. */
  probe(): Promise<number | undefined>;
}

/** Every store and queue this process has open now (for lib/health). */
export function openResources(): OpenResource[] {
  const out: OpenResource[] = [];
  for (const [id, shared] of stores) {
    out.push({ kind: "store", name: "correlation", backend: backendOf(id), probe: async () => void (await (await shared.opening).store.findByPart("health-probe")) });
  }
  for (const [id, shared] of queues) {
    out.push({ kind: "queue", name: queueNameOf(id), backend: backendOf(id), probe: async () => (await shared.opening).size() });
  }
  return out;
}

/** The queue's name from its registry id: `<url>#<name>`, or the embedded queue's directory. */
function queueNameOf(id: string): string {
  const hash = id.lastIndexOf("#");
  return hash >= 0 ? id.slice(hash + 1) : path.basename(id).replace(/^rapidpro-sms-queue-/, "");
}

function backendOf(id: string): OpenResource["backend"] {
  return isRedisUrl(id) ? "redis" : id.startsWith("memory:") ? "memory" : "embedded";
}

/** Opens (or joins) the store the options name. Close the handle when done with it. */
export async function openStore(options: StoreOptions): Promise<SharedCorrelationStore> {
  checkTtl(options.ttlMs);
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const { id, open, location } = storeTarget(options, ttlMs);
  const { store, watches, notifier, locks } = await join(stores, id, `ttlMs=${ttlMs}`, async () => {
    const opened = await open();
    const beside = companions.map((companion) => companion(location, options.onBackgroundError));
    const watching = new PartWatches();
    // Puts by other instances sharing a Redis store wake this one's watches too (redis-notify.ts).
    const notices = isRedisUrl(id)
      ? new RedisPutNotifier({ url: id, onPut: (partIds) => watching.putEnded(partIds), onError: (m) => options.onBackgroundError?.(new Error(m)) })
      : undefined;
    const locking = isRedisUrl(id) ? new RedisLocks({ url: id, onError: (m) => options.onBackgroundError?.(new Error(m)) }) : undefined;
    return { store: opened, watches: watching, notifier: notices, locks: locking, close: async () => void (await Promise.all([opened.close(), notices?.close(), locking?.close(), ...beside.map((b) => b?.close())])) };
  });
  // The input checks are repeated here so that every backend, memory included, refuses bad calls alike.
  const shared = handle<CorrelationStore>(() => leave(stores, id), {
    put: async (rapidproId, partIds, text) => {
      checkPut(rapidproId, partIds, text);
      try {
        await store.put(rapidproId, partIds, text);
        notifier?.publish(partIds);
      } finally {
        watches.putEnded(partIds);
      }
    },
    findByPart: (partId) => store.findByPart(partId),
    findByMessage: (rapidproId) => store.findByMessage(rapidproId),
    markPart: async (partId, state, reason) => {
      checkPartState(state);
      return store.markPart(partId, state, reason);
    },
  });
  return Object.assign(shared, {
    watchParts: (partIds: readonly string[]) => watches.watch(partIds),
    exclusive: <T>(rapidproId: string, fn: (waited: boolean) => Promise<T>) => (locks ? locks.run(rapidproId, fn) : fn(false)),
  });
}

/** Opens (or joins) the named queue. Close the handle when done with it. */
export async function openQueue<T>(options: QueueOptions): Promise<DurableQueue<T>> {
  checkRememberMs(options.rememberMs);
  const { id, open } = queueTarget(options);
  const queue = (await join(queues, id, `rememberMs=${options.rememberMs ?? DEFAULT_REMEMBER_MS}`, open)) as DurableQueue<T>;
  return handle<DurableQueue<T>>(() => leave(queues, id), {
    push: (key, value) => queue.push(key, value),
    pushOnce: (key, value, onceId) => queue.pushOnce(key, value, onceId),
    peek: (limit, skipKeys) => queue.peek(limit, skipKeys),
    ack: (itemId) => queue.ack(itemId),
    size: () => queue.size(),
  });
}

function storeTarget(options: StoreOptions, ttlMs: number): { id: string; open: () => Promise<CorrelationStore>; location: StoreLocation } {
  const url = options.url?.trim();
  if (!url) {
    const dir = embeddedDir(options.dir, "store");
    return { id: `embedded:${dir}`, open: () => EmbeddedStore.open({ dir, ttlMs, onBackgroundError: options.onBackgroundError }), location: { backend: "embedded", dir } };
  }
  if (url.startsWith("memory:")) return { id: url, open: async () => new MemoryStore(ttlMs), location: { backend: "memory" } };
  if (isRedisUrl(url)) {
    parseRedisUrl(url); // rejects a malformed URL here, with a message that holds no password
    return { id: url, open: async () => new RedisStore({ url, ttlMs, onBackgroundError: options.onBackgroundError }), location: { backend: "redis", url } };
  }
  throw new Error(`store url must be empty (embedded), memory: or redis://... (redis+sentinel://... behind Sentinel), got a ${schemeOf(url)} URL`);
}

function queueTarget(options: QueueOptions): { id: string; open: () => Promise<DurableQueue<unknown>> } {
  checkQueueName(options.name);
  const url = options.url?.trim();
  if (!url) {
    const dir = embeddedDir(options.dir, "queue");
    return { id: embeddedQueueDir(dir, options.name), open: () => EmbeddedQueue.open({ dir, name: options.name, rememberMs: options.rememberMs, onBackgroundError: options.onBackgroundError }) };
  }
  if (url.startsWith("memory:")) return { id: `${url}#${options.name}`, open: async () => new MemoryQueue(Date.now, options.rememberMs) };
  if (isRedisUrl(url)) {
    parseRedisUrl(url);
    return { id: `${url}#${options.name}`, open: async () => new RedisQueue({ url, name: options.name, rememberMs: options.rememberMs, onBackgroundError: options.onBackgroundError }) };
  }
  throw new Error(`queue url must be empty (embedded), memory: or redis://... (redis+sentinel://... behind Sentinel), got a ${schemeOf(url)} URL`);
}

function embeddedDir(dir: string | undefined, what: string): string {
  if (!dir) throw new Error(`the embedded ${what} needs a directory (dir), usually the Node-RED user directory`);
  return what === "store" ? path.join(path.resolve(dir), EMBEDDED_STORE_DIRNAME) : path.resolve(dir);
}

/** The scheme only: the rest of a URL may hold a password. */
function schemeOf(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return match ? `"${match[1]}:"` : "scheme-less";
}

async function join<T>(registry: Map<string, Shared<T>>, id: string, settings: string, open: () => Promise<T>): Promise<T> {
  let shared = registry.get(id);
  if (shared && shared.settings !== settings) {
    throw new Error(`this store is already open with ${shared.settings}; every user of one store must use the same settings, got ${settings}`);
  }
  if (!shared) {
    shared = { opening: open(), users: 0, settings };
    registry.set(id, shared);
    const opened = shared;
    // A failed open must not stay cached: the next caller tries again.
    opened.opening.catch(() => {
      if (registry.get(id) === opened) registry.delete(id);
    });
  }
  shared.users++;
  try {
    return await shared.opening;
  } catch (err) {
    shared.users--;
    throw err;
  }
}

async function leave<T extends { close(): Promise<void> }>(registry: Map<string, Shared<T>>, id: string): Promise<void> {
  const shared = registry.get(id);
  if (!shared) return;
  shared.users--;
  if (shared.users > 0) return;
  registry.delete(id);
  await (await shared.opening).close();
}

/**
 * A handle on a shared store: the given methods, plus a `close` that counts once however
 * often it is called, and refuses use after it.
 */
function handle<T extends { close(): Promise<void> }>(release: () => Promise<void>, methods: Omit<T, "close">): T {
  let closed = false;
  const guarded = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(methods as Record<string, (...args: unknown[]) => Promise<unknown>>)) {
    guarded[name] = async (...args: unknown[]) => {
      if (closed) throw new Error("this store handle is closed");
      return method(...args);
    };
  }
  guarded.close = async () => {
    if (closed) return;
    closed = true;
    await release();
  };
  return guarded as unknown as T;
}

export { DEFAULT_TTL_MS } from "./types";
export type { Correlation, CorrelationStore, PartState, PartUpdate, Submission } from "./types";
export type { PartWatch } from "./part-watch";
export type { DurableQueue, QueueItem } from "./queue";
export { QueueConsumer, type ConsumerOptions, type DeliveryOutcome } from "./queue-consumer";
export { MemoryStore } from "./memory";
export { EmbeddedStore } from "./embedded";
export { RedisStore } from "./redis";
export { MemoryQueue } from "./queue-memory";
export { EmbeddedQueue } from "./queue-embedded";
export { RedisQueue } from "./queue-redis";
