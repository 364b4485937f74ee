/**
 * Parts of long MOs that survive a restart.
 *
 * An SMSC may wait for each deliver_sm_resp before it sends the next part, so the parts of a
 * long MO are acknowledged while their siblings are still on the way; from then on the bridge
 * alone holds them. HeldParts keeps each such part in a DurableQueue before it is
 * acknowledged, gives the kept parts back to the reassembler after a restart, and lets them go
 * once their message is handed over (to RapidPro or its durable outbox).
 *
 * The part that completes a message is not kept: its deliver_sm is answered only after the
 * hand-over, so if that fails the SMSC delivers it again, and `putBack` returns the kept
 * parts to the reassembler to wait for it.
 */
import { randomUUID } from "node:crypto";
import type { DurableQueue } from "../store/queue";
import type { Alphabet } from "./alphabet";
import { Reassembler, type AddResult, type Fragment, type Reassembled, type ReassemblerOptions } from "./reassembly";
import type { ConcatInfo } from "./udh";

/** A part as the queue keeps it (JSON, so the octets as base64). */
export interface StoredPart {
  from: string;
  to: string;
  concat: ConcatInfo;
  octets: string;
  alphabet: Alphabet;
  receivedAt: number;
}

/**
 * The reassembler's context for one part. The reassembler fills in `fragment` when it takes
 * the part; `kept` is set once `keep` started, and resolves to the part's queue item id.
 */
export interface PartHandle {
  fragment?: Fragment<PartHandle>;
  kept?: Promise<string>;
}

/** Parts given back by one `restore`, at most: one peek of the embedded queue. */
const RESTORE_LIMIT = 10_000;

/**
 * A Reassembler that tells each part's handle which fragment it became, and stamps the part
 * with its arrival, which it keeps when it is stored or put back.
 */
class HandleReassembler extends Reassembler<PartHandle> {
  constructor(options: ReassemblerOptions<PartHandle>, private readonly clock: () => number) {
    super(options);
  }

  override add(fragment: Fragment<PartHandle>): AddResult<PartHandle> {
    fragment.receivedAt ??= this.clock();
    fragment.context.fragment = fragment;
    return super.add(fragment);
  }
}

export class HeldParts {
  readonly reassembler: Reassembler<PartHandle>;

  constructor(
    private readonly queue: DurableQueue<StoredPart>,
    options: ReassemblerOptions<PartHandle>,
  ) {
    this.reassembler = new HandleReassembler(options, options.now ?? Date.now);
  }

  /**
   * Gives the reassembler every part kept before a restart. Returns the messages they
   * complete (none, normally: the completing part is never kept) and the number of parts.
   * Kept parts that cannot be used again are let go, with the reasons.
   */
  async restore(): Promise<{ parts: number; complete: Reassembled<PartHandle>[]; dropped: string[] }> {
    const items = await this.queue.peek(RESTORE_LIMIT);
    const complete: Reassembled<PartHandle>[] = [];
    const dropped: string[] = [];
    for (const item of items) {
      const handle: PartHandle = { kept: Promise.resolve(item.id) };
      const fragment = toFragment(item.value, handle);
      const added = fragment ? this.reassembler.add(fragment) : { status: "invalid" as const, reason: "stored part is damaged" };
      if (added.status === "complete") complete.push(added.message);
      if (added.status === "duplicate" || added.status === "invalid") {
        dropped.push(`item ${item.id}: ${added.status === "invalid" ? added.reason : "the same part is kept twice"}`);
        await this.queue.ack(item.id);
      }
    }
    return { parts: items.length, complete, dropped };
  }

  /**
   * Keeps a part the reassembler holds for its siblings; resolves once it is durable. If it
   * cannot be kept, the part is taken back from the reassembler (so the SMSC's redelivery is
   * not taken for a duplicate) and this rejects: answer the SMSC with a temporary error.
   */
  async keep(handle: PartHandle): Promise<void> {
    const fragment = handle.fragment;
    if (!fragment) throw new Error("held parts: this part was never given to the reassembler");
    handle.kept = this.queue.push(`part:${randomUUID()}`, toStored(fragment)).then((item) => item.id);
    try {
      await handle.kept;
    } catch (err) {
      // Its group may already be complete and handed on: then nothing is left to take back,
      // and the redelivered part will start a group of its own.
      this.reassembler.remove(fragment);
      throw err;
    }
  }

  /** Lets the kept parts of a message go once it was handed over. */
  async release(handles: readonly PartHandle[]): Promise<void> {
    for (const handle of handles) {
      if (!handle.kept) continue;
      const id = await handle.kept.catch(() => undefined);
      if (id !== undefined) await this.queue.ack(id);
    }
  }

  /** Gives the kept parts of a message whose hand-over failed back to the reassembler. */
  putBack(handles: readonly PartHandle[]): void {
    for (const handle of handles) if (handle.kept && handle.fragment) this.reassembler.add(handle.fragment);
  }
}

function toStored(fragment: Fragment<PartHandle>): StoredPart {
  const { from, to, concat, octets, alphabet, receivedAt } = fragment;
  return { from, to, concat, octets: octets.toString("base64"), alphabet, receivedAt: receivedAt ?? Date.now() };
}

function toFragment(stored: StoredPart, handle: PartHandle): Fragment<PartHandle> | undefined {
  if (!stored || typeof stored !== "object" || typeof stored.octets !== "string" || !stored.concat) return undefined;
  const { from, to, concat, alphabet, receivedAt } = stored;
  return { from, to, concat, alphabet, octets: Buffer.from(stored.octets, "base64"), receivedAt, context: handle };
}
