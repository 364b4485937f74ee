/**
 * For the fault tests: the SMPP bridge example in a real Node-RED between the courier and SMSC
 * simulators, a courier-style MT load generator (resends the same uuid on 429, 5xx or a broken
 * connection, as courier does), and a ledger that counts every message at both ends.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, installTarball, packPackage, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim, type ExChannelConfig, type ReceivedCall } from "../../sim/courier";
import { startSmsc, type SmscOptions, type SmscSim } from "../../sim/smsc";
import { open as openLmdb } from "lmdb";
import { embeddedQueueDir } from "../../lib/store/queue-embedded";

export const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
export const AUTH = "Token faults-secret";
const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "rapidpro-smpp-bridge.json");

/** RapidPro-style message uuid (v7 shape, which courier's uuid check accepts) for MT number `n`. */
export function mtUuid(run: number, n: number): string {
  return `0191e180-7d60-7${String(run).padStart(3, "0")}-a000-${String(n).padStart(12, "0")}`;
}

/**
 * The package packed once and installed once into a template user directory; each test copies
 * it, so that every Node-RED runs the tarball as the palette manager installs it without paying
 * for `npm install` four times.
 */
export function installedTemplate(work: string): string {
  const template = path.join(work, "template");
  installTarball(template, packPackage(work));
  return template;
}

export interface Bridge {
  courier: CourierSim;
  smsc: SmscSim;
  red: NodeRed;
  userDir: string;
  env: Record<string, string>;
  port: number;
  sendUrl: string;
  /** kill -9 of Node-RED. */
  kill(): Promise<void>;
  /** Starts Node-RED again on the same user dir and port, with the flows it kept. */
  restart(): Promise<void>;
  /** Everything every Node-RED run of this bridge printed. */
  log(): string;
  close(): Promise<void>;
}

/** The SMSC variables of each bridge example: host, port, login, password. */
const SMSC_VARIABLES = {
  smpp: ["SMPP_HOST", "SMPP_PORT", "SMPP_SYSTEM_ID", "SMPP_PASSWORD"],
  ucp: ["UCP_HOST", "UCP_PORT", "UCP_USERNAME", "UCP_PASSWORD"],
} as const;

/** The environment examples/rapidpro-<protocol>-bridge.json reads, pointed at a courier and an SMSC on 127.0.0.1. */
export function bridgeEnv(protocol: keyof typeof SMSC_VARIABLES, options: { courierUrl: string; smscPort: number; auth: string; storeUrl?: string }): Record<string, string> {
  const [host, port, login, password] = SMSC_VARIABLES[protocol];
  return {
    RAPIDPRO_URL: options.courierUrl,
    RAPIDPRO_CHANNEL_UUID: CHANNEL,
    RAPIDPRO_AUTH: options.auth,
    [host]: "127.0.0.1",
    [port]: String(options.smscPort),
    [login]: protocol === "ucp" ? "4470" : "bridge",
    [password]: "secret",
    ...(options.storeUrl !== undefined ? { STORE_URL: options.storeUrl } : {}),
  };
}

export const smppBridgeEnv = (options: Parameters<typeof bridgeEnv>[1]) => bridgeEnv("smpp", options);

/**
 * Courier's channel settings as courier's own tests have them (max_length 30), and the default
 * body at 160: every send configuration, each text long enough for courier to split it.
 */
export const COURIER_CONFIGS: { name: string; config: (url: string) => ExChannelConfig; text: string }[] = [
  {
    name: "urlencoded, max_length 30",
    config: (url) => ({ sendUrl: url, method: "POST", contentType: "urlencoded", body: "id={{id}}&text={{text}}&to={{to}}&from={{from}}", maxLength: 30 }),
    text: "This is a long message that will be longer than 30....... characters",
  },
  {
    name: "JSON, max_length 30",
    config: (url) => ({ sendUrl: url, method: "POST", contentType: "json", body: '{"id":{{id}},"text":{{text}},"to":{{to}},"from":{{from}}}', maxLength: 30 }),
    text: "This JSON message will surely be longer than 30....... characters",
  },
  {
    name: "XML, max_length 30",
    config: (url) => ({ sendUrl: url, method: "POST", contentType: "xml", body: "<msg><id>{{id}}</id><text>{{text}}</text><to>{{to}}</to><from>{{from}}</from></msg>", maxLength: 30 }),
    text: "This XML message & friends are longer than 30....... characters",
  },
  {
    name: "GET, max_length 30",
    config: (url) => ({ sendUrl: `${url}?id={{id}}&text={{text}}&to={{to}}&from={{from}}`, method: "GET", maxLength: 30 }),
    text: "This GET message will also be longer than 30....... characters",
  },
  {
    name: "the default body, max_length 160, 400 characters",
    config: (url) => ({ sendUrl: url, method: "POST", contentType: "urlencoded", body: DEFAULT_SEND_BODY, maxLength: 160 }),
    text: Array.from({ length: 80 }, (_, i) => `w${String(i).padStart(3, "0")}`).join(" "),
  },
];


export async function startBridge(options: {
  template: string;
  userDir: string;
  smsc: SmscOptions;
  storeUrl?: string;
  /**
   * Also send an ENROUTE receipt at once for each submit, before the DELIVRD one: each uuid
   * then has two statuses, `sent` and `delivered`, whose order the faults could upset.
   */
  enroute?: boolean;
}): Promise<Bridge> {
  fs.cpSync(options.template, options.userDir, { recursive: true });
  const courier = await startCourier({ channelUuid: CHANNEL });
  const smsc = await startSmsc({ port: 0, ...options.smsc });
  // 50 ms after the submit_sm_resp, as an SMSC's first receipt comes: sooner, it overtakes the
  // bridge's store write and waits out unmatchedWait, after which DELIVRD has made it moot.
  const enrouteTimers = new Set<NodeJS.Timeout>();
  if (options.enroute) {
    smsc.on("submit", (record: { messageId: string }) => {
      const timer = setTimeout(() => {
        enrouteTimers.delete(timer);
        void smsc.sendReceipt(record.messageId, "ENROUTE");
      }, 50);
      enrouteTimers.add(timer);
    });
  }
  const env = smppBridgeEnv({ courierUrl: courier.url, smscPort: smsc.port, auth: AUTH, storeUrl: options.storeUrl ?? "" });
  const port = await freePort();
  const flows = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as unknown[];
  let red: NodeRed;
  try {
    red = await startNodeRed({ userDir: options.userDir, port, flows, env });
  } catch (error) {
    // Nothing may outlive a failed start, or `node --test` would not exit.
    await smsc.close();
    await courier.close();
    throw error;
  }
  let earlierLogs = "";
  const bridge: Bridge = {
    courier,
    smsc,
    get red() {
      return red;
    },
    userDir: options.userDir,
    env,
    port,
    sendUrl: `${red.url}/rapidpro/send`,
    async kill() {
      await red.stop("SIGKILL");
    },
    async restart() {
      earlierLogs += red.log() + "\n----- restart -----\n";
      red = await startNodeRed({ userDir: options.userDir, port, env });
    },
    log: () => earlierLogs + red.log(),
    async close() {
      await red.stop().catch(() => undefined);
      for (const timer of enrouteTimers) clearTimeout(timer);
      await smsc.close().catch(() => undefined);
      await courier.close().catch(() => undefined);
    },
  };
  return bridge;
}

export interface MtOutcome {
  uuid: string;
  text: string;
  /** The last HTTP status courier got (0: no answer, the connection broke). */
  status: number;
  attempts: number;
  /** Statuses of every attempt, for the report. */
  history: number[];
}

/**
 * Sends `count` MT the way courier does, `concurrency` at a time: each uuid is resent after a
 * 429, a 5xx or a broken connection until it is answered 2xx or 4xx, or `deadline` passes.
 * `onAnswered` is told how many have been answered 2xx so far, so a test can inject a fault
 * at a given point of the run.
 */
export async function sendAllMt(options: {
  sendUrl: string;
  uuids: string[];
  textOf: (i: number) => string;
  concurrency: number;
  deadlineMs: number;
  onAnswered?: (answered: number) => void;
}): Promise<MtOutcome[]> {
  const outcomes: MtOutcome[] = new Array(options.uuids.length);
  const until = Date.now() + options.deadlineMs;
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < options.uuids.length) {
      const i = next++;
      const outcome: MtOutcome = { uuid: options.uuids[i], text: options.textOf(i), status: 0, attempts: 0, history: [] };
      outcomes[i] = outcome;
      while (Date.now() < until) {
        outcome.attempts += 1;
        const status = await sendMt(
          { sendUrl: options.sendUrl, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL },
          { uuid: outcome.uuid, to: "+250788383383", text: outcome.text },
        ).then(
          (parts) => parts[parts.length - 1].status,
          () => 0, // connection refused or reset: Node-RED is down or was killed
        );
        outcome.status = status;
        outcome.history.push(status);
        // A 404 is what Node-RED answers while it starts (listening, the flow's route not yet
        // added); courier marks the message errored and RapidPro retries it, so resend it too.
        // The ledger counts these answers: only a restart may cause them.
        if (status >= 200 && status < 500 && status !== 429 && status !== 404) break;
        // Courier backs off before a retry; a short fixed pause keeps the test quick.
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 200));
      }
      if (outcome.status >= 200 && outcome.status < 300) options.onAnswered?.(++answered);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return outcomes;
}

export interface LedgerReport {
  mt: number;
  mtAnswered200: number;
  mtRetried: number;
  mtNot200: Array<{ uuid: string; history: number[] }>;
  /** 404 answers seen (Node-RED starting, its route not yet there), retried like a 5xx. */
  notFoundAnswers: number;
  /** Submits the SMSC accepted, and how many of them repeat a text already accepted (resends). */
  smscAccepted: number;
  smscResubmitted: number;
  receiptsSent: number;
  deliveredUuids: number;
  /** uuids that got a `sent` (from an ENROUTE receipt), and those that got it more than once. */
  sentUuids: number;
  duplicateSent: string[];
  missingDelivered: string[];
  /** uuid → how many times courier accepted `delivered` for it, for the uuids seen more than once. */
  duplicateDelivered: Record<string, number>;
  /** Of those, the uuids the SMSC accepted more than once (a resend: two SMS, two receipts). */
  duplicateDeliveredResent: number;
  /** Of those, the uuids submitted once: one receipt applied twice. */
  duplicateDeliveredOneSubmit: number;
  /** uuids that got any status after their first `delivered`. */
  statusAfterDelivered: Array<{ uuid: string; actions: string[] }>;
  /** Statuses for uuids this run never sent. */
  strangerStatuses: number;
  mo: number;
  moReceived: number;
  missingMo: string[];
  duplicateMo: Record<string, number>;
  /** deliver_sm the SMSC still holds unacknowledged. */
  smscUndelivered: number;
  smscRedeliveries: number;
  deliverResps: Record<number, number>;
  courierRefused: number;
}

/** Counts both ends: what courier sent and was answered, what the SMSC took and sent back. */
export function ledger(bridge: Bridge, outcomes: MtOutcome[], moTexts: string[]): LedgerReport {
  const { courier, smsc } = bridge;
  const uuids = new Set(outcomes.map((o) => o.uuid));
  const actionsByUuid = new Map<string, string[]>();
  let strangerStatuses = 0;
  for (const call of courier.accepted) {
    if (call.action === "receive" || call.action === "stopped") continue;
    const uuid = call.params.uuid ?? call.params.id;
    if (!uuids.has(uuid)) strangerStatuses += 1;
    const list = actionsByUuid.get(uuid) ?? [];
    list.push(call.action);
    actionsByUuid.set(uuid, list);
  }
  const duplicateDelivered: Record<string, number> = {};
  const statusAfterDelivered: LedgerReport["statusAfterDelivered"] = [];
  const missingDelivered: string[] = [];
  const duplicateSent: string[] = [];
  let sentUuids = 0;
  for (const uuid of uuids) {
    const actions = actionsByUuid.get(uuid) ?? [];
    const sent = actions.filter((a) => a === "sent").length;
    if (sent > 0) sentUuids += 1;
    if (sent > 1) duplicateSent.push(uuid);
    const delivered = actions.filter((a) => a === "delivered").length;
    if (delivered === 0) missingDelivered.push(uuid);
    if (delivered > 1) duplicateDelivered[uuid] = delivered;
    const first = actions.indexOf("delivered");
    if (first >= 0 && actions.slice(first + 1).some((a) => a !== "delivered")) statusAfterDelivered.push({ uuid, actions });
  }

  const received = new Map<string, number>();
  for (const call of courier.accepted) if (call.action === "receive") received.set(call.params.text, (received.get(call.params.text) ?? 0) + 1);
  const duplicateMo: Record<string, number> = {};
  for (const [text, n] of received) if (n > 1) duplicateMo[text] = n;

  const submittedTexts = smsc.submitted.map((r) => String((r.pdu.short_message as { message?: unknown } | undefined)?.message ?? ""));
  const submitsOfText = new Map<string, number>();
  for (const text of submittedTexts) submitsOfText.set(text, (submitsOfText.get(text) ?? 0) + 1);
  const textOfUuid = new Map(outcomes.map((o) => [o.uuid, o.text]));
  const resent = Object.keys(duplicateDelivered).filter((uuid) => (submitsOfText.get(textOfUuid.get(uuid) ?? "") ?? 0) > 1).length;
  return {
    mt: outcomes.length,
    mtAnswered200: outcomes.filter((o) => o.status === 200).length,
    mtRetried: outcomes.filter((o) => o.attempts > 1).length,
    mtNot200: outcomes.filter((o) => o.status !== 200).map((o) => ({ uuid: o.uuid, history: o.history })),
    notFoundAnswers: outcomes.reduce((n, o) => n + o.history.filter((s) => s === 404).length, 0),
    smscAccepted: smsc.submitted.length,
    smscResubmitted: submittedTexts.length - new Set(submittedTexts).size,
    receiptsSent: smsc.counters.receiptsSent,
    deliveredUuids: uuids.size - missingDelivered.length,
    sentUuids,
    duplicateSent,
    missingDelivered,
    duplicateDelivered,
    duplicateDeliveredResent: resent,
    duplicateDeliveredOneSubmit: Object.keys(duplicateDelivered).length - resent,
    statusAfterDelivered,
    strangerStatuses,
    mo: moTexts.length,
    moReceived: moTexts.filter((t) => received.has(t)).length,
    missingMo: moTexts.filter((t) => !received.has(t)),
    duplicateMo,
    smscUndelivered: smsc.counters.undelivered,
    smscRedeliveries: smsc.counters.redeliveries,
    deliverResps: { ...smsc.counters.deliverResps },
    courierRefused: courier.refused.length,
  };
}

/**
 * The calls in the channel's embedded outbox, read from its LMDB files while Node-RED is down
 * (after a kill -9): what the bridge had not yet seen courier accept. Each as "action key",
 * the key being the uuid (statuses) or the text (MO), as `callKey` names courier's calls.
 */
export function outboxCalls(userDir: string): string[] {
  const dir = embeddedQueueDir(userDir, `courier-${CHANNEL}`);
  const root = openLmdb({ path: dir, readOnly: true });
  try {
    const items = root.openDB<Buffer, number>({ name: "items", encoding: "binary" });
    const calls: string[] = [];
    for (const { value } of items.getRange()) {
      const entry = JSON.parse(value.toString("utf8")) as { value: { action: ReceivedCall["action"]; body: string } };
      calls.push(callKey(entry.value.action, Object.fromEntries(new URLSearchParams(entry.value.body))));
    }
    return calls;
  } finally {
    void root.close();
  }
}

/** One courier call as "action key": a status by its message uuid, an MO by its text. */
export function callKey(action: ReceivedCall["action"], params: Record<string, string>): string {
  return `${action} ${action === "receive" ? params.text : (params.uuid ?? params.id ?? params.from)}`;
}

/** The SMSC simulator's deliver_sm_resp timeout (sim/smsc), plus a margin. */
const SMSC_RESP_TIMEOUT_MS = 5_000 + 1_000;

/**
 * Waits (bounded) until every uuid has a `delivered`, every MO text reached courier and the
 * SMSC holds nothing unacknowledged, and that stays so for longer than the SMSC's response
 * timeout: a deliver_sm on its first try is not counted `undelivered` until that try failed.
 * The wait also lets a late duplicate show.
 */
export async function settle(bridge: Bridge, outcomes: MtOutcome[], moTexts: string[], timeoutMs: number): Promise<LedgerReport> {
  const until = Date.now() + timeoutMs;
  const done = (r: LedgerReport) => r.missingDelivered.length === 0 && r.missingMo.length === 0 && r.smscUndelivered === 0;
  let report = ledger(bridge, outcomes, moTexts);
  let doneSince: number | undefined;
  while (Date.now() < until) {
    report = ledger(bridge, outcomes, moTexts);
    if (!done(report)) doneSince = undefined;
    else if (doneSince === undefined) doneSince = Date.now();
    else if (Date.now() - doneSince >= SMSC_RESP_TIMEOUT_MS) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return ledger(bridge, outcomes, moTexts);
}

/** One line per figure, for the test log (the counts are the point of these tests). */
export function printReport(name: string, report: LedgerReport): void {
  const short = {
    ...report,
    mtNot200: report.mtNot200.slice(0, 5),
    missingDelivered: report.missingDelivered.slice(0, 10),
    missingMo: report.missingMo.slice(0, 10),
    statusAfterDelivered: report.statusAfterDelivered.slice(0, 5),
    duplicateDelivered: Object.fromEntries(Object.entries(report.duplicateDelivered).slice(0, 10)),
  };
  console.log(`[${name}] ${JSON.stringify(short)}`);
}

export function tempWork(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
