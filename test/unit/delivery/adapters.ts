/**
 * The delivery core as each protocol drives it, behind one shape, so that core.test.ts runs
 * the same table against SMPP (lib/smpp/sender.ts and receiver.ts over a recording session),
 * CIMD2 (lib/cimd2/sender.ts and receiver.ts likewise), UCP/EMI (lib/ucp/sender.ts and
 * receiver.ts likewise) and Rapporto (lib/rapporto/client.ts
 * against sim/rapporto, and DlrReceiver/parseMoPush).
 */
import type { MT, Status, SubmitResult } from "../../../lib/contract";
import { Cimd2Receiver, CIMD2_ANSWERS } from "../../../lib/cimd2/receiver";
import { Cimd2Sender } from "../../../lib/cimd2/sender";
import { toDelivery, type DeliveryAnswer } from "../../../lib/cimd2/deliver";
import { param, type Parameter } from "../../../lib/cimd2/packet";
import { P } from "../../../lib/cimd2/parameters";
import type { SubmitOutcome as Cimd2Outcome } from "../../../lib/cimd2/session";
import { decodeCimd2Text } from "../../../lib/cimd2/text";
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
import { decodeMo, decodeNotification } from "../../../lib/ucp/deliver";
import { originatorOadc } from "../../../lib/ucp/address";
import type { DeliveryAnswer as UcpDeliveryAnswer, UcpDelivery } from "../../../lib/ucp/incoming";
import type { Fields } from "../../../lib/ucp/operations";
import { UcpReceiver, UCP_ANSWERS } from "../../../lib/ucp/receiver";
import { UcpSender } from "../../../lib/ucp/sender";
import type { SubmitOutcome } from "../../../lib/ucp/session";
import { startRapportoSim } from "../../../sim/rapporto";

/** A protocol's answer as the tests compare it: SMPP command_status, HTTP status, CIMD2 response (`70`, `900:710`), UCP result (`A`, `N/04`). */
export type AnswerCode = number | string;

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
  receipt(smsId: string, state: ReceiptState): Promise<AnswerCode>;
  /** Statuses handed over to RapidPro so far. */
  readonly statuses: Status[];
  /** How the next hand-overs end (RapidPro took them, unless told otherwise). */
  handOvers(outcome: HandOver): void;
  /** Receipts given up on and emitted as unmatched. */
  readonly unmatched: string[];
  /** An MO's sender as RapidPro gets it, from a number the aggregator says is international or not. */
  moSender(number: string, international: boolean): Promise<string>;
  /** How the aggregator is answered for each abstract answer: the protocol's table. */
  readonly answers: Readonly<Record<Answer, AnswerCode>>;
  store: CorrelationStore;
  close(): Promise<void>;
}

export interface Adapter {
  name: string;
  /** SMS of one courier request of this many UCS-2 characters (Rapporto splits on its side: always 1). */
  smsPerUcs2Part(chars: number): number;
  open(options?: { defaultSender?: string; waitMs?: number }): Promise<Bridge>;
  /** The id the aggregator gives the submission after the one given `id` (default: its trailing number plus one). */
  nextSmsId?(id: string): string;
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

/** What the SMSC adapters record and switch, and the Bridge members that read them. */
function recorder() {
  const r = {
    store: new MemoryStore(),
    statuses: [] as Status[],
    unmatched: [] as string[],
    handOver: { kind: "rapidpro" } as HandOver,
    refuse: false,
    /** Sender of the latest MO handed over. */
    mo: undefined as string | undefined,
    /** The next SMS id's number. */
    next: 1,
  };
  const members = {
    store: r.store,
    statuses: r.statuses,
    unmatched: r.unmatched,
    refuseNext: () => void (r.refuse = true),
    handOvers: (outcome: HandOver) => void (r.handOver = outcome),
  };
  return { r, members };
}

export const SMPP: Adapter = {
  name: "SMPP",
  smsPerUcs2Part: (chars) => (chars <= 70 ? 1 : Math.ceil(chars / 67)),
  async open(options = {}) {
    const { r, members } = recorder();
    const store = r.store;
    const pdus: SubmitSmParams[] = [];
    const link = {
      id: `bind-${++binds}`,
      idMode: "asis" as const,
      store: async () => store,
      session: {
        submit: async (pdu: SubmitSmParams) => {
          if (r.refuse) return { ok: false as const, commandStatus: 0x0b, error: { code: 0x0b, text: "ESME_RINVDSTADR", temporary: false }, attempts: 1 };
          pdus.push(pdu);
          return { ok: true as const, messageId: `smsc-${r.next++}`, commandStatus: 0, attempts: 1 };
        },
      },
    };
    const sender = new SmppSender(link, { sender: options.defaultSender });
    const receiver = new SmppReceiver(
      async () => store,
      Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }),
      { idMode: "asis", unmatchedWaitMs: options.waitMs ?? 100, reassemblyTimeoutMs: 60_000 },
      {
        mo: async (msg) => ((r.mo = msg.payload.from), r.handOver),
        status: async (status) => (r.statuses.push(status), r.handOver),
        unmatched: (receipt) => r.unmatched.push(receipt.messageId),
        warn: () => undefined,
      },
    );
    const STATE = { sent: [1, "ENROUTE"], delivered: [2, "DELIVRD"], failed: [5, "UNDELIV"] } as const;
    return {
      ...members,
      answers: SMPP_ANSWERS,
      sms: () => pdus.length,
      get phone() {
        return textsOf(pdus);
      },
      senderOf: (n) => firstPdus(pdus)[n]?.source_addr ?? "",
      async send(mt) {
        const { result } = await sender.send(mt);
        r.refuse = false;
        return result;
      },
      async receipt(smsId, state) {
        const [messageState, stat] = STATE[state];
        return receiver.deliver({ esm_class: 0x04, data_coding: 0, receipted_message_id: smsId, message_state: messageState, short_message: Buffer.from(`id:${smsId} sub:001 dlvrd:001 stat:${stat} err:000`) });
      },
      async moSender(number, international) {
        await receiver.deliver({ esm_class: 0, data_coding: 0, source_addr: number, source_addr_ton: international ? 1 : 0, destination_addr: "2020", short_message: Buffer.from("hi") });
        return r.mo ?? "";
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

/** A CIMD2 response as the tests compare it: "ok" (a plain 70 / 73) or the `900` error code. */
const cimd2Response = (answer: DeliveryAnswer) => (answer.ok ? "ok" : `900:${answer.code ?? ""}`);
const CIMD2_RESPONSES = Object.fromEntries(Object.entries(CIMD2_ANSWERS).map(([k, v]) => [k, cimd2Response(v)])) as Record<Answer, string>;

/** What one op 03 carries as text: `033` in CIMD2's 7-bit form, or `034` UCS-2 under `030:8`. */
function cimd2Text(params: readonly Parameter[]): string {
  const packet = { op: 3, number: 1, params: [...params] };
  const binary = param(packet, P.USER_DATA_BINARY);
  if (binary !== undefined) return Buffer.from(binary, "hex").swap16().toString("utf16le");
  const decoded = decodeCimd2Text(param(packet, P.USER_DATA) ?? "");
  return decoded.ok ? decoded.text : "";
}

/** The `032` concatenation UDH of a part (05 00 03 ref total seq), if any. */
const cimd2Udh = (params: readonly Parameter[]) => {
  const value = params.find((p) => p.code === P.USER_DATA_HEADER)?.value;
  return value ? Buffer.from(value, "hex") : undefined;
};

function cimd2Texts(submits: readonly Parameter[][]): string[] {
  const texts: string[] = [];
  const open = new Map<number, number>();
  for (const params of submits) {
    const udh = cimd2Udh(params);
    if (!udh || udh[5] === 1) {
      texts.push(cimd2Text(params));
      if (udh) open.set(udh[3], texts.length - 1);
    } else {
      texts[open.get(udh[3])!] += cimd2Text(params);
    }
  }
  return texts;
}

/** A key "timestamp:destination" (lib/cimd2/report.ts); made-up ids get a key of their own. */
const cimd2MadeUp = new Map<string, string>();
function cimd2KeyOf(smsId: string): { timestamp: string; destination: string } {
  const match = /^(\d{12}):(\d{1,20})$/.exec(smsId);
  if (match) return { timestamp: match[1], destination: match[2] };
  if (!cimd2MadeUp.has(smsId)) cimd2MadeUp.set(smsId, `2601${String(cimd2MadeUp.size).padStart(8, "0")}:999`);
  return cimd2KeyOf(cimd2MadeUp.get(smsId)!);
}
const cimd2IdOfKey = (key: string) => [...cimd2MadeUp].find(([, k]) => k === key)?.[0] ?? key;

export const CIMD2: Adapter = {
  name: "CIMD2",
  smsPerUcs2Part: (chars) => (chars <= 70 ? 1 : Math.ceil(chars / 67)),
  // The SMSC's timestamp comes first in the key, so the next submission's is one second on.
  nextSmsId(id) {
    const { timestamp, destination } = cimd2KeyOf(id);
    return `${BigInt(timestamp) + 1n}:${destination}`;
  },
  async open(options = {}) {
    const { r, members } = recorder();
    const store = r.store;
    const submits: Parameter[][] = [];
    const bind = {
      id: `cimd2-${++binds}`,
      store: async () => store,
      session: {
        submit: async (params: Parameter[]): Promise<Cimd2Outcome> => {
          if (r.refuse) return { ok: false, code: 300, error: { code: 300, text: "error 300 (incorrect destination address)", temporary: false }, attempts: 1 };
          submits.push(params);
          const destination = params.find((p) => p.code === P.DESTINATION)!.value.replace(/^\+/, "");
          // One 060 a second, YYMMDDhhmmss (core.test.ts guesses the next one with nextSmsId).
          const timestamp = `260110000${String(r.next++).padStart(3, "0")}`;
          return { ok: true, timestamp, destination, key: `${timestamp}:${destination}`, attempts: 1 };
        },
      },
    };
    const sender = new Cimd2Sender(bind, { sender: options.defaultSender });
    const receiver = new Cimd2Receiver(
      async () => store,
      Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }),
      { unmatchedWaitMs: options.waitMs ?? 100, reassemblyTimeoutMs: 60_000 },
      {
        mo: async (msg) => ((r.mo = msg.payload.from), r.handOver),
        status: async (status) => (r.statuses.push(status), r.handOver),
        unmatched: (report) => r.unmatched.push(cimd2IdOfKey(report.key)),
        warn: () => undefined,
      },
    );
    const deliver = async (op: 20 | 23, params: Parameter[]) => cimd2Response(await receiver.deliver(toDelivery({ op, number: 0, params, checksummed: false }, () => undefined)));
    const STATUS = { sent: ["1"], delivered: ["4"], failed: ["3", "6"] } as const;
    return {
      ...members,
      answers: CIMD2_RESPONSES,
      sms: () => submits.length,
      get phone() {
        return cimd2Texts(submits);
      },
      senderOf(n) {
        const first = submits.filter((s) => !cimd2Udh(s) || cimd2Udh(s)![5] === 1);
        return first[n]?.find((p) => p.code === P.ORIGINATOR || p.code === P.ALPHANUMERIC_ORIGINATOR)?.value ?? "";
      },
      async send(mt) {
        const { result } = await sender.send(mt);
        r.refuse = false;
        return result;
      },
      async receipt(smsId, state) {
        const { timestamp, destination } = cimd2KeyOf(smsId);
        const [code, error] = STATUS[state] as readonly string[];
        const params = [
          { code: P.DESTINATION, value: destination },
          { code: P.SERVICE_CENTRE_TIMESTAMP, value: timestamp },
          { code: P.STATUS_CODE, value: code },
          ...(error ? [{ code: P.STATUS_ERROR_CODE, value: error }] : []),
        ];
        return deliver(23, params);
      },
      // CIMD2 says a number is international by a leading "+" in `023`.
      async moSender(number, international) {
        const originator = international && /^\d+$/.test(number) ? `+${number}` : number;
        await deliver(20, [
          { code: P.DESTINATION, value: "2020" },
          { code: P.ORIGINATOR, value: originator },
          { code: P.USER_DATA, value: "hi" },
        ]);
        return r.mo ?? "";
      },
      close: async () => {
        await receiver.close(true);
        await store.close();
      },
    };
  },
};

/** A UCP result as the tests compare it. */
const ucpResult = (answer: UcpDeliveryAnswer) => (answer.ok ? "A" : `N/${answer.code ?? ""}`);
const UCP_RESULTS = Object.fromEntries(Object.entries(UCP_ANSWERS).map(([k, v]) => [k, ucpResult(v)])) as Record<Answer, string>;

/** The UDH of an OT 51 (XSer type 01 LL <UDH: 05 00 03 ref total seq>), if any. */
function ucpUdh(op: Fields): Buffer | undefined {
  return op.XSER?.startsWith("01") ? Buffer.from(op.XSER.slice(4, 4 + 2 * parseInt(op.XSER.slice(2, 4), 16)), "hex") : undefined;
}

/** Whether an OT 51 begins a message: no UDH, or its part number (the UDH's last octet) is 1. */
function ucpBegins(op: Fields): boolean {
  const udh = ucpUdh(op);
  return !udh || udh[udh.length - 1] === 1;
}

/** What reached the phone from OT 51 fields (GSM texts here are ASCII, so their codes read as Latin-1). */
function ucpTexts(operations: readonly Fields[]): string[] {
  const texts: string[] = [];
  const open = new Map<string, number>();
  for (const op of operations) {
    const octets = Buffer.from(op.MSG, "hex");
    const text = op.MT === "4" ? Buffer.from(octets).swap16().toString("utf16le") : octets.toString("latin1");
    const udh = ucpUdh(op);
    if (!udh || ucpBegins(op)) {
      texts.push(text);
      if (udh) open.set(udh.toString("hex", 0, udh.length - 2), texts.length - 1);
    } else {
      texts[open.get(udh.toString("hex", 0, udh.length - 2))!] += text;
    }
  }
  return texts;
}

/** A notification's OAdC and SCTS from an SMS id "recipient:SCTS"; other ids (made-up ones) get a key of their own. */
const madeUp = new Map<string, string>();
function keyOf(smsId: string): { recipient: string; scts: string } {
  const match = /^(\d{1,16}):(\d{12})$/.exec(smsId);
  if (match) return { recipient: match[1], scts: match[2] };
  if (!madeUp.has(smsId)) madeUp.set(smsId, `999:0101260${String(madeUp.size).padStart(5, "0")}`);
  return keyOf(madeUp.get(smsId)!);
}
const idOfKey = (key: string) => [...madeUp].find(([, k]) => k === key)?.[0] ?? key;

function delivery(kind: "mo" | "notification", fields: Fields): UcpDelivery {
  const respond = () => undefined;
  if (kind === "notification") {
    const decoded = decodeNotification(fields);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { kind, ot: 53, fields, via: "main", respond, notification: decoded.value };
  }
  const decoded = decodeMo(52, fields);
  if (!decoded.ok) throw new Error(decoded.reason);
  return { kind, ot: 52, fields, via: "main", respond, mo: decoded.value };
}

export const UCP: Adapter = {
  name: "UCP",
  smsPerUcs2Part: (chars) => (chars <= 70 ? 1 : Math.ceil(chars / 67)),
  async open(options = {}) {
    const { r, members } = recorder();
    const store = r.store;
    const operations: Fields[] = [];
    const link = {
      id: `ucp-${++binds}`,
      alphabet: "gsm" as const,
      store: async () => store,
      session: {
        submit: async (fields: Fields): Promise<SubmitOutcome> => {
          if (r.refuse) return { ok: false, errorCode: "06", error: { code: "06", text: "error code 06: AdC invalid", temporary: false }, attempts: 1 };
          operations.push(fields);
          // A//ADC:SCTS/: one SCTS a second, DDMMYYhhmmss without a leading zero (core.test.ts counts ids up).
          const scts = `100126000${String(r.next++).padStart(3, "0")}`;
          return { ok: true, messageId: `${fields.ADC}:${scts}`, recipient: fields.ADC, scts, attempts: 1 };
        },
      },
    };
    const sender = new UcpSender(link, { sender: options.defaultSender });
    const receiver = new UcpReceiver(
      async () => store,
      Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }),
      { unmatchedWaitMs: options.waitMs ?? 100, reassemblyTimeoutMs: 60_000 },
      {
        mo: async (msg) => ((r.mo = msg.payload.from), r.handOver),
        status: async (status) => (r.statuses.push(status), r.handOver),
        unmatched: (notification) => r.unmatched.push(idOfKey(notification.key)),
        warn: () => undefined,
      },
    );
    const DST = { sent: ["1", ""], delivered: ["0", ""], failed: ["2", "107"] } as const;
    return {
      ...members,
      answers: UCP_RESULTS,
      sms: () => operations.length,
      get phone() {
        return ucpTexts(operations);
      },
      senderOf(n) {
        const first = operations.filter(ucpBegins);
        const oadc = first[n]?.OADC ?? "";
        if (first[n]?.OTOA !== "5039") return oadc;
        const decoded = decodeMo(52, { OADC: oadc, OTOA: "5039", ADC: "1", MT: "3", MSG: "" });
        return decoded.ok ? decoded.value.from : "";
      },
      async send(mt) {
        const { result } = await sender.send(mt);
        r.refuse = false;
        return result;
      },
      async receipt(smsId, state) {
        const { recipient, scts } = keyOf(smsId);
        const [dst, rsn] = DST[state];
        return ucpResult(await receiver.deliver(delivery("notification", { OADC: recipient, ADC: "2020", SCTS: scts, DST: dst, RSN: rsn, MT: "3" })));
      },
      async moSender(number, international) {
        const address = originatorOadc(international && /^\d+$/.test(number) ? `+${number}` : number);
        if (!address.ok) throw new Error(address.reason);
        await receiver.deliver(delivery("mo", { OADC: address.oadc, OTOA: address.otoa, ADC: "2020", MT: "3", MSG: "6869" }));
        return r.mo ?? "";
      },
      close: async () => {
        await receiver.close(true);
        await store.close();
      },
    };
  },
};
