/**
 * The delivery core as each protocol drives it, behind one shape, so that core.test.ts runs
 * the same table against SMPP (lib/smpp/sender.ts and receiver.ts over a recording session)
 * and Rapporto (lib/rapporto/client.ts against sim/rapporto, and DlrReceiver/parseMoPush).
 */
import type { MT, Status, SubmitResult } from "../../../lib/contract";
import type { Answer, HandOver } from "../../../lib/delivery/answers";
import { RapportoClient } from "../../../lib/rapporto/client";
import { DLR_ANSWERS } from "../../../lib/rapporto/dlr";
import { parseMoPush } from "../../../lib/rapporto/mo";
import { DlrReceiver } from "../../../lib/rapporto/receiver";
import { SmppReceiver, SMPP_ANSWERS } from "../../../lib/smpp/receiver";
import { SmppSender } from "../../../lib/smpp/sender";
import type { SubmitSmParams } from "../../../lib/smpp/submit";
import type { StoredPart } from "../../../lib/sms/held-parts";
import { MemoryStore } from "../../../lib/store/memory";
import { MemoryQueue } from "../../../lib/store/queue-memory";
import type { CorrelationStore } from "../../../lib/store/types";
import { startRapportoSim } from "../../../sim/rapporto";

export type ReceiptState = "sent" | "delivered" | "failed";

export interface Bridge {
  /** Submits one courier request; resolves with courier's answer. */
  send(mt: MT): Promise<SubmitResult>;
  /** The texts that reached the phone, one entry per submission. */
  readonly phone: string[];
  /** SMS sent to the aggregator in all. */
  sms(): number;
  /** The aggregator's sender of the n-th submission ("" for its empty originator). */
  senderOf(n: number): string;
  /** The next submission is refused for good by the aggregator. */
  refuseNext(): void;
  /** A receipt for one SMS id; resolves with the protocol's answer code (compare with `answers`). */
  receipt(smsId: string, state: ReceiptState): Promise<number>;
  /** Statuses handed over to RapidPro so far. */
  readonly statuses: Status[];
  /** How the next hand-overs end (RapidPro took them, unless told otherwise). */
  handOvers(outcome: HandOver): void;
  /** Receipts given up on and emitted as unmatched. */
  readonly unmatched: string[];
  /** An MO's sender as RapidPro gets it, from a number the aggregator says is international or not. */
  moSender(number: string, international: boolean): Promise<string>;
  /** How the aggregator is answered for each abstract answer: the protocol's table. */
  readonly answers: Readonly<Record<Answer, number>>;
  store: CorrelationStore;
  close(): Promise<void>;
}

export interface Adapter {
  name: string;
  /** SMS of one courier request of this many UCS-2 characters (Rapporto splits on its side: always 1). */
  smsPerUcs2Part(chars: number): number;
  open(options?: { defaultSender?: string; waitMs?: number }): Promise<Bridge>;
}

let binds = 0;

/** The text of one submit_sm: UDH stripped, UCS-2 (data_coding 8) or one octet per character. */
function pduText(pdu: SubmitSmParams): string {
  const octets = pdu.esm_class & 0x40 ? pdu.short_message.subarray(pdu.short_message[0] + 1) : pdu.short_message;
  return pdu.data_coding === 8 ? Buffer.from(octets).swap16().toString("utf16le") : octets.toString("latin1");
}

/** Whether a PDU begins a message: no UDH, or the UDH's part number is 1 (IEI 0x00: 05 00 03 ref total seq). */
const begins = (pdu: SubmitSmParams) => !(pdu.esm_class & 0x40) || pdu.short_message[5] === 1;

function firstPdus(pdus: readonly SubmitSmParams[]): SubmitSmParams[] {
  return pdus.filter(begins);
}

/** What reached the phone: each message's parts joined (they are submitted in order per message). */
function textsOf(pdus: readonly SubmitSmParams[]): string[] {
  const texts: string[] = [];
  const open = new Map<number, number>();
  for (const pdu of pdus) {
    if (begins(pdu)) {
      texts.push(pduText(pdu));
      if (pdu.esm_class & 0x40) open.set(pdu.short_message[3], texts.length - 1);
    } else {
      texts[open.get(pdu.short_message[3])!] += pduText(pdu);
    }
  }
  return texts;
}

export const SMPP: Adapter = {
  name: "SMPP",
  smsPerUcs2Part: (chars) => (chars <= 70 ? 1 : Math.ceil(chars / 67)),
  async open(options = {}) {
    const store = new MemoryStore();
    const pdus: SubmitSmParams[] = [];
    const statuses: Status[] = [];
    const unmatched: string[] = [];
    let handOver: HandOver = { kind: "rapidpro" };
    let refuse = false;
    let next = 1;
    const link = {
      id: `bind-${++binds}`,
      idMode: "asis" as const,
      store: async () => store,
      session: {
        submit: async (pdu: SubmitSmParams) => {
          if (refuse) return { ok: false as const, commandStatus: 0x0b, error: { code: 0x0b, text: "ESME_RINVDSTADR", temporary: false }, attempts: 1 };
          pdus.push(pdu);
          return { ok: true as const, messageId: `smsc-${next++}`, commandStatus: 0, attempts: 1 };
        },
      },
    };
    const sender = new SmppSender(link, { sender: options.defaultSender });
    let mo: string | undefined;
    const receiver = new SmppReceiver(
      async () => store,
      Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }),
      { idMode: "asis", unmatchedWaitMs: options.waitMs ?? 100, reassemblyTimeoutMs: 60_000 },
      {
        mo: async (msg) => ((mo = msg.payload.from), handOver),
        status: async (status) => (statuses.push(status), handOver),
        unmatched: (receipt) => unmatched.push(receipt.messageId),
        warn: () => undefined,
      },
    );
    const STATE = { sent: [1, "ENROUTE"], delivered: [2, "DELIVRD"], failed: [5, "UNDELIV"] } as const;
    return {
      store,
      statuses,
      unmatched,
      answers: SMPP_ANSWERS,
      sms: () => pdus.length,
      refuseNext: () => (refuse = true),
      handOvers: (outcome) => (handOver = outcome),
      get phone() {
        return textsOf(pdus);
      },
      senderOf: (n) => firstPdus(pdus)[n]?.source_addr ?? "",
      async send(mt) {
        const { result } = await sender.send(mt);
        refuse = false;
        return result;
      },
      async receipt(smsId, state) {
        const [messageState, stat] = STATE[state];
        return receiver.deliver({ esm_class: 0x04, data_coding: 0, receipted_message_id: smsId, message_state: messageState, short_message: Buffer.from(`id:${smsId} sub:001 dlvrd:001 stat:${stat} err:000`) });
      },
      async moSender(number, international) {
        await receiver.deliver({ esm_class: 0, data_coding: 0, source_addr: number, source_addr_ton: international ? 1 : 0, destination_addr: "2020", short_message: Buffer.from("hi") });
        return mo ?? "";
      },
      close: async () => {
        await receiver.close(true);
        await store.close();
      },
    };
  },
};

export const RAPPORTO: Adapter = {
  name: "Rapporto",
  smsPerUcs2Part: () => 1,
  async open(options = {}) {
    const store = new MemoryStore();
    const sim = await startRapportoSim({ pass: "p4ss" });
    const client = new RapportoClient({ url: sim.mtUrl, serviceId: "login", pass: "p4ss", source: options.defaultSender, profile: { kind: "v5", method: "GET", output: "text" } }, { partnerMsgId: true, budgetMs: 3000 });
    const statuses: Status[] = [];
    const unmatched: string[] = [];
    let handOver: HandOver = { kind: "rapidpro" };
    const dlr = new DlrReceiver({ maxTries: 2, waitMs: options.waitMs ?? 100 }, store, {
      status: async (status) => (statuses.push(status), handOver),
      unknown: (push) => unmatched.push(push.transactionId),
    });
    const CODE = { sent: "0", delivered: "2", failed: "5" } as const;
    return {
      store,
      statuses,
      unmatched,
      answers: DLR_ANSWERS,
      get phone() {
        return sim.sent.map((m) => m.message);
      },
      sms: () => sim.sent.length,
      senderOf: (n) => sim.sent[n]?.source ?? "",
      refuseNext: () => sim.failNext(406, "cannot send to this clientId"),
      handOvers: (outcome) => (handOver = outcome),
      send: async (mt) => (await client.sendAndRecord(mt, store)).result,
      async receipt(smsId, state) {
        return (await dlr.handle({ params: { transactionId: smsId, status: CODE[state] }, internal: true })).answer.status;
      },
      async moSender(number) {
        // clientId is the subscriber's number "in international format" by Rapporto's definition.
        const parsed = parseMoPush({ clientId: number, message: "hi", shortNumber: "0000", receivedDate: "2024-05-01 13:00:00" }, { timeZone: "Europe/Moscow" });
        if (!parsed.ok) throw new Error(parsed.reason);
        return parsed.value.mo.from;
      },
      close: async () => {
        dlr.close();
        client.close();
        await sim.close();
        await store.close();
      },
    };
  },
};
