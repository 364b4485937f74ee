/**
 * MO to RapidPro, for every SMSC protocol that delivers long MOs as parts (SMPP deliver_sm,
 * UCP OT 52): parts are reassembled in any order (lib/sms/reassembly.ts) and kept on disk
 * before they are acknowledged (lib/sms/held-parts.ts); a complete MO is handed over and its
 * kept parts let go only once RapidPro (or the outbox) has it. Each call resolves with the
 * abstract answer (lib/delivery/answers.ts) the protocol's table turns into its own code.
 */
import type { MO } from "../contract";
import { HeldParts, holdsParts, type PartHandle, type SharedPartGroups, type StoredPart } from "../sms/held-parts";
import type { Alphabet } from "../sms/alphabet";
import type { PartialMessage, Reassembler } from "../sms/reassembly";
import type { ConcatInfo } from "../sms/udh";
import type { DurableQueue } from "../store/queue";
import { HAND_OVER_ANSWER, type Answer, type HandOver } from "./answers";

/** An MO as the receiving node emits it, without the protocol's own field. */
export interface MoHandOver {
  mo: MO;
  /** SMS it was made of. */
  parts: number;
  /** Set when given up on before every part came. */
  partial?: { total: number; missing: number[]; reason: string };
}

export interface MoDeskEvents {
  /** Emits the MO and resolves with how its hand-over ended (lib/delivery/hand-over.ts). */
  mo(msg: MoHandOver): Promise<HandOver>;
  warn(text: string): void;
}

/** One SMS of an MO as a protocol decoded it: the whole text, or a part of a long one. */
export interface DeliveredSms {
  from: string;
  to: string;
  /** The text of a single SMS (a part's text is reassembled from `octets`). */
  text: string;
  concat?: ConcatInfo;
  /** The text octets (UDH removed), in `alphabet`. */
  octets: Buffer;
  alphabet: Alphabet;
}

/** Where kept MO parts live, and whether that survives a restart. */
export type KeptParts = Promise<{ queue: DurableQueue<StoredPart>; durable: boolean }>;

export class MoDesk {
  private readonly ready: Promise<HeldParts>;
  private held: HeldParts | undefined;
  private readonly releasing = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;
  private durable = false;
  private queue: DurableQueue<StoredPart> | undefined;

  /** `sharedParts`: parts kept where every instance sharing the store sees them (decision 36). */
  constructor(parts: KeptParts, reassemblyTimeoutMs: number, private readonly events: MoDeskEvents, sharedParts?: SharedPartGroups) {
    this.ready = parts.then(async ({ queue, durable }) => {
      this.durable = durable;
      this.queue = queue;
      const held = new HeldParts(queue, { timeoutMs: reassemblyTimeoutMs, onFlush: (partial) => this.handPartialOn(partial) }, sharedParts);
      this.held = held;
      const restored = await held.restore().catch((err: Error) => {
        events.warn(`long MO parts kept before the restart could not be read: ${err.message}`);
        return { parts: 0, complete: [], dropped: [] };
      });
      for (const reason of restored.dropped) events.warn(`long MO part let go: ${reason}`);
      for (const message of restored.complete) {
        void this.complete({ from: message.from, to: message.to, text: message.text, date: new Date(message.firstAt).toISOString() }, message.parts, message.contexts);
      }
      return held;
    });
    this.sweeper = setInterval(() => this.held?.reassembler.sweep(), 10_000);
  }

  /** The reassembler parts go through, once kept parts were restored. */
  async reassembler(): Promise<Reassembler<PartHandle>> {
    return (this.held ?? (await this.ready)).reassembler;
  }

  /**
   * One SMS of an MO from a protocol that decodes its own parts (UCP OT 52, CIMD2 op 20): a whole
   * message is handed over, a part of a long one reassembled (kept, or completing the message);
   * `invalid` is a part the reassembler refuses, for the protocol's own error code.
   */
  async deliver(sms: DeliveredSms, date: string): Promise<{ answer: Answer } | { invalid: string }> {
    const handle: PartHandle = {};
    if (!sms.concat || sms.concat.total === 1) return { answer: await this.complete({ from: sms.from, to: sms.to, text: sms.text, date }, 1, [handle]) };
    const reassembler = await this.reassembler();
    const added = reassembler.add({ from: sms.from, to: sms.to, concat: sms.concat, octets: sms.octets, alphabet: sms.alphabet, context: handle });
    switch (added.status) {
      case "complete":
        // Only the completing part is answered with an error, so only it will come again.
        return { answer: await this.complete({ from: sms.from, to: sms.to, text: added.message.text, date }, added.message.parts, added.message.contexts) };
      case "pending":
        return { answer: await this.pending(handle) };
      case "duplicate":
        return { answer: "taken" };
      case "invalid":
        return { invalid: added.reason };
    }
  }

  /**
   * A part the reassembler holds for its siblings: acknowledged once kept on disk (an SMSC that
   * sends one part at a time would never send the last one otherwise).
   */
  async pending(handle: PartHandle): Promise<Answer> {
    const held = this.held ?? (await this.ready);
    let completed;
    try {
      completed = await held.keep(handle);
    } catch (err) {
      this.events.warn(`a part of a long MO from ${handle.fragment?.from ?? "?"} could not be kept, the SMSC will deliver it again: ${(err as Error).message}`);
      return "again";
    }
    // With shared parts, this one may complete a message whose other parts came to other instances.
    if (!completed) return "taken";
    return this.complete({ from: completed.from, to: completed.to, text: completed.text, date: new Date(completed.firstAt).toISOString() }, completed.parts, completed.contexts);
  }

  /**
   * Hands a whole MO on, and lets its kept parts go once RapidPro (or the outbox) has it; if
   * not, puts them back to wait for the SMSC's redelivery of the part answered with the error
   * (only the completing part is, so only it comes again). Resolves with that answer.
   */
  async complete(mo: MO, count: number, handles: PartHandle[], partial?: PartialMessage<PartHandle>): Promise<Answer> {
    const msg: MoHandOver = { mo, parts: count };
    if (partial) msg.partial = { total: partial.total, missing: partial.missing, reason: partial.reason };
    const answer = HAND_OVER_ANSWER[(await this.events.mo(msg)).kind];
    // Most MOs are one SMS, never kept: nothing to let go or put back, so no chain of promises for it.
    if (!holdsParts(handles)) return answer;
    if (answer === "taken") {
      const release = (this.held?.release(handles) ?? Promise.resolve())
        .catch((err: Error) => this.events.warn(`long MO from ${mo.from} handed on, but its kept parts could not be let go: ${err.message}`))
        .finally(() => this.releasing.delete(release));
      this.releasing.add(release);
      await release;
    } else if (!this.closing) {
      this.held?.putBack(handles);
    }
    return answer;
  }

  /**
   * Stops taking work. Kept MO parts wait on disk for the next start; in memory, or when the
   * node is gone for good (`removed`), they go on now as partial MOs.
   */
  async close(removed: boolean): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const held = await this.ready;
    if (removed || !this.durable) held.reassembler.flushAll();
    while (this.releasing.size > 0) await Promise.allSettled([...this.releasing]);
    await this.queue?.close();
  }

  /** A long MO given up on (timeout, room, close) goes on with the parts that came; tried again at the next sweep if not taken. */
  private handPartialOn(partial: PartialMessage<PartHandle>): void {
    this.events.warn(`long MO from ${partial.from} flushed (${partial.reason}) with parts ${partial.missing.join(", ")} of ${partial.total} missing`);
    const mo: MO = { from: partial.from, to: partial.to, text: partial.text, date: new Date(partial.firstAt).toISOString() };
    void this.complete(mo, partial.parts, partial.contexts, partial);
  }
}
