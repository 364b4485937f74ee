/**
 * The main thread's handle on the peers worker (`peers-worker.ts`): the SMSC simulator and
 * the fake courier. Requests are answered by id; courier calls arrive in batches and are
 * handed to whoever listens (the scenario that is running).
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { ReceiptStat, SmscCounters } from "../sim/smsc";

export interface PeersConfig {
  channelUuid: string;
  systemId: string;
  password: string;
  /** Delay between a submit_sm_resp and its receipt. */
  receiptDelayMs: number;
  /** Which SMSC simulator: sim/smsc (SMPP, default), sim/ucp (UCP/EMI) or sim/cimd2 (CIMD2). */
  protocol?: "smpp" | "ucp" | "cimd2";
}

export interface CallBatch {
  actions: string[];
  /** The message uuid (or id) of status calls; "" for receive and stopped. */
  ids: string[];
  /** When the courier accepted each call (`now()`). */
  times: number[];
}

export interface MoResult {
  startedAt: number;
  sent: number;
  latencies: Float64Array;
  completions: Float64Array;
  errors: Record<string, number>;
}

export interface PeersCounters {
  smsc: SmscCounters;
  courierAccepted: Record<string, number>;
  courierRefused: number;
  courierRefusedSample: Array<{ path: string; status: number; error: string }>;
}

export type PeersRequest = { id: number } & (
  | { cmd: "counters" }
  | { cmd: "receipts"; stat: ReceiptStat | null }
  | { cmd: "submitLog"; on: boolean }
  | { cmd: "mo"; count: number; concurrency: number; deadline: number }
  | { cmd: "close" }
);

export type PeersReply = { type: "reply"; id: number; value?: unknown; error?: string };

type WorkerMessage =
  | PeersReply
  | { type: "ready"; smscPort: number; courierUrl: string }
  | { type: "calls"; batch: CallBatch }
  | { type: "fatal"; error: string };

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;

export class Peers {
  smscPort = 0;
  courierUrl = "";
  private readonly callListeners = new Set<(batch: CallBatch) => void>();
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private ready: Promise<void>;

  constructor(config: PeersConfig) {
    this.worker = new Worker(path.join(__dirname, "peers-worker.js"), { workerData: config });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (message: WorkerMessage) => {
        switch (message.type) {
          case "ready":
            this.smscPort = message.smscPort;
            this.courierUrl = message.courierUrl;
            return resolve();
          case "calls":
            for (const listener of this.callListeners) listener(message.batch);
            return;
          case "fatal":
            return reject(new Error(`peers worker: ${message.error}`));
          case "reply": {
            const waiter = this.waiting.get(message.id);
            this.waiting.delete(message.id);
            if (message.error) waiter?.reject(new Error(message.error));
            else waiter?.resolve(message.value);
          }
        }
      });
      this.worker.on("error", reject);
    });
  }

  /** Hears each batch of calls courier accepted until the returned function is called. */
  listen(listener: (batch: CallBatch) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  start(): Promise<void> {
    return this.ready;
  }

  private ask<T>(request: Distribute<PeersRequest>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  counters(): Promise<PeersCounters> {
    return this.ask({ cmd: "counters" });
  }

  setReceipts(stat: ReceiptStat | null): Promise<void> {
    return this.ask({ cmd: "receipts", stat });
  }

  startSubmitLog(): Promise<void> {
    return this.ask({ cmd: "submitLog", on: true });
  }

  /** Submit times (`now()`) since startSubmitLog. */
  takeSubmitLog(): Promise<number[]> {
    return this.ask({ cmd: "submitLog", on: false });
  }

  generateMo(count: number, concurrency: number, deadline: number): Promise<MoResult> {
    return this.ask({ cmd: "mo", count, concurrency, deadline });
  }

  /** Closes the simulators (bounded: 5 s), then ends the thread. */
  async close(): Promise<void> {
    const timeout = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    await Promise.race([this.ask({ cmd: "close" }).catch(() => undefined), timeout]);
    await this.worker.terminate();
  }
}
