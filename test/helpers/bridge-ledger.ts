/**
 * For the fault tests: the SMPP bridge example in a real Node-RED between the courier and SMSC
 * simulators, a courier-style MT load generator (resends the same uuid on 429, 5xx or a broken
 * connection, as courier does), and a ledger that counts every message at both ends.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, installTarball, packPackage, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim, type ExChannelConfig, type ReceivedCall } from "../../sim/courier";
import { startSmsc, type SmscOptions, type SmscSim } from "../../sim/smsc";
import { startUcpSmsc, type UcpSim, type UcpSimOptions } from "../../sim/ucp";
import { decodeMo } from "../../lib/ucp/deliver";
import { open as openLmdb } from "lmdb";
import { embeddedQueueDir } from "../../lib/store/queue-embedded";

export const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
export const AUTH = "Token faults-secret";

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

/** What the ledger needs of either SMSC simulator (sim/smsc for SMPP, sim/ucp for UCP/EMI). */
export interface SmscLedger {
  /** The texts of the accepted submits, one per SMS. */
  submittedTexts(): string[];
  receiptsSent(): number;
  /** Receipts and MO the SMSC still holds, not acknowledged. */
  undelivered(): number;
  redeliveries(): number;
  /** How the bridge answered what the SMSC delivered: command_status or UCP result, and how often. */
  answers(): Record<string, number>;
}

export function smppLedger(smsc: SmscSim): SmscLedger {
  return {
    submittedTexts: () => smsc.submitted.map((r) => String((r.pdu.short_message as { message?: unknown } | undefined)?.message ?? "")),
    receiptsSent: () => smsc.counters.receiptsSent,
    undelivered: () => smsc.counters.undelivered,
    redeliveries: () => smsc.counters.redeliveries,
    answers: () => ({ ...smsc.counters.deliverResps }),
  };
}

export function ucpLedger(sim: UcpSim): SmscLedger {
  return {
    submittedTexts: () =>
      sim.submitted.map(({ fields }) => {
        const part = decodeMo(52, { ...fields, OADC: fields.OADC || "0" });
        return part.ok ? (part.value.text ?? "") : "";
      }),
    receiptsSent: () => sim.counters.notificationsSent,
    undelivered: () => sim.counters.undelivered,
    redeliveries: () => sim.counters.redeliveries,
    answers: () => ({ ...sim.counters.answers }),
  };
}

/** A bridge example running in Node-RED between the courier simulator and an SMSC simulator. */
export interface ExampleBridge<S> {
  courier: CourierSim;
  smsc: S;
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

export interface Bridge<S = SmscSim> extends ExampleBridge<S> {
  /** The SMSC as the ledger counts it. */
  counts: SmscLedger;
}

/** The SMSC variables of each bridge example (host, port, login, password) and the login its simulator accepts. */
const SMSC_VARIABLES = {
  smpp: { names: ["SMPP_HOST", "SMPP_PORT", "SMPP_SYSTEM_ID", "SMPP_PASSWORD"], login: "bridge", password: "secret" },
  ucp: { names: ["UCP_HOST", "UCP_PORT", "UCP_USERNAME", "UCP_PASSWORD"], login: "4470", password: "secret" },
  // A password no other string in the tests contains, so test/e2e/cimd2-bridge.test.ts can look for it in the logs.
  cimd2: { names: ["CIMD2_HOST", "CIMD2_PORT", "CIMD2_USERNAME", "CIMD2_PASSWORD"], login: "bridge", password: "cimd2-bridge-secret" },
} as const;

/** The login the SMSC simulator of a bridge example accepts. */
export function smscLogin(protocol: keyof typeof SMSC_VARIABLES): { login: string; password: string } {
  const { login, password } = SMSC_VARIABLES[protocol];
  return { login, password };
}

/** The environment examples/rapidpro-<protocol>-bridge.json reads, pointed at a courier and an SMSC on 127.0.0.1. */
export function bridgeEnv(protocol: keyof typeof SMSC_VARIABLES, options: { courierUrl: string; smscPort: number; auth: string; storeUrl?: string }): Record<string, string> {
  const { names, login, password } = SMSC_VARIABLES[protocol];
  const [host, port, loginName, passwordName] = names;
  return {
    RAPIDPRO_URL: options.courierUrl,
    RAPIDPRO_CHANNEL_UUID: CHANNEL,
    RAPIDPRO_AUTH: options.auth,
    [host]: "127.0.0.1",
    [port]: String(options.smscPort),
    [loginName]: login,
    [passwordName]: password,
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
  return launch("smpp", options, smsc, smppLedger(smsc), async () => {
    for (const timer of enrouteTimers) clearTimeout(timer);
    await smsc.close();
  });
}

/**
 * The UCP/EMI bridge example between the courier and UCP simulators. With `buffered`, each
 * submit first gets a "buffered" notification (DST 1, `sent`) and then "delivered", as
 * `enroute` does for SMPP (the example asks for buffered notifications only when told to, so
 * the simulator sends them whatever NT says).
 */
export async function startUcpBridge(options: { template: string; userDir: string; ucp: UcpSimOptions; storeUrl?: string; buffered?: boolean }): Promise<Bridge<UcpSim>> {
  const sim = await startUcpSmsc({ port: 0, ...options.ucp });
  const timers = new Set<NodeJS.Timeout>();
  if (options.buffered) {
    sim.on("submit", (record: { recipient: string; scts: string }) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        void sim.sendNotification(record, "buffered");
      }, 50);
      timers.add(timer);
    });
  }
  return launch("ucp", options, sim, ucpLedger(sim), async () => {
    for (const timer of timers) clearTimeout(timer);
    await sim.close();
  });
}

/** Starts courier and Node-RED with the protocol's example around a started SMSC simulator, and counts it. */
async function launch<S>(protocol: "smpp" | "ucp", options: { template: string; userDir: string; storeUrl?: string }, smsc: S, counts: SmscLedger, closeSmsc: () => Promise<void>): Promise<Bridge<S>> {
  const smscPort = (smsc as { port: number }).port;
  const env = (courierUrl: string) => bridgeEnv(protocol, { courierUrl, smscPort, auth: AUTH, storeUrl: options.storeUrl ?? "" });
  const bridge = await launchExample(`rapidpro-${protocol}-bridge.json`, options, env, smsc, closeSmsc);
  return Object.assign(bridge, { counts });
}

/**
 * Copies the template user directory, starts courier and Node-RED with examples/`example`
 * deployed unchanged, configured by `env(courier's URL)` only, around a started SMSC simulator.
 */
export async function launchExample<S>(example: string, options: { template: string; userDir: string }, envFor: (courierUrl: string) => Record<string, string>, smsc: S, closeSmsc: () => Promise<void>): Promise<ExampleBridge<S>> {
  fs.cpSync(options.template, options.userDir, { recursive: true });
  const courier = await startCourier({ channelUuid: CHANNEL });
  const env = envFor(courier.url);
  const port = await freePort();
  const flows = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", example), "utf8")) as unknown[];
  let red: NodeRed;
  try {
    red = await startNodeRed({ userDir: options.userDir, port, flows, env });
  } catch (error) {
    // Nothing may outlive a failed start, or `node --test` would not exit.
    await closeSmsc();
    await courier.close();
    throw error;
  }
  let earlierLogs = "";
  return {
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
      await closeSmsc().catch(() => undefined);
      await courier.close().catch(() => undefined);
    },
  };
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
  /** SMPP deliver_sm_resp command_status, or UCP results (positive, negative, none), and how often. */
  deliverResps: Record<string, number>;
  courierRefused: number;
}

/** Counts both ends: what courier sent and was answered, what the SMSC took and sent back. */
export function ledger(bridge: Bridge<unknown>, outcomes: MtOutcome[], moTexts: string[]): LedgerReport {
  const { courier, counts } = bridge;
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

  const submittedTexts = counts.submittedTexts();
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
    smscAccepted: submittedTexts.length,
    smscResubmitted: submittedTexts.length - new Set(submittedTexts).size,
    receiptsSent: counts.receiptsSent(),
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
    smscUndelivered: counts.undelivered(),
    smscRedeliveries: counts.redeliveries(),
    deliverResps: counts.answers(),
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
export async function settle(bridge: Bridge<unknown>, outcomes: MtOutcome[], moTexts: string[], timeoutMs: number): Promise<LedgerReport> {
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

/** Calls courier accepted more than once: "action key" (callKey) → how often, and the index of the first. */
export function repeatedCalls(bridge: Pick<ExampleBridge<unknown>, "courier">): Map<string, { times: number; first: number }> {
  const seen = new Map<string, { times: number; first: number }>();
  bridge.courier.accepted.forEach((call, index) => {
    const key = callKey(call.action, call.params);
    const entry = seen.get(key);
    if (entry) entry.times += 1;
    else seen.set(key, { times: 1, first: index });
  });
  return new Map([...seen].filter(([, entry]) => entry.times > 1));
}

/**
 * Asserts what every fault test promises: nothing lost, nothing out of order, and no call
 * accepted by courier twice, except the repeats `mayRepeat` accounts for (only a kill -9 causes any).
 */
export function assertNothingLost(
  report: LedgerReport,
  bridge: Pick<ExampleBridge<unknown>, "courier">,
  options: {
    notFound?: number;
    mayRepeat?: (key: string, repeat: { times: number; first: number }) => boolean;
    /** Submits the SMSC may have accepted twice (at-least-once after a cut-off answer); not checked when absent. */
    resubmitted?: number;
  } = {},
): void {
  assert.deepEqual(report.mtNot200, [], "every MT answered 200 after courier-style retries");
  assert.equal(report.courierRefused, 0, "courier refused no call");
  assert.equal(report.strangerStatuses, 0, "no status for a uuid that was never sent");
  assert.deepEqual(report.missingDelivered, [], "every MT reported delivered");
  assert.deepEqual(report.statusAfterDelivered, [], "no status after delivered");
  assert.deepEqual(report.missingMo, [], "every MO reached courier");
  assert.equal(report.smscUndelivered, 0, "the SMSC holds no unacknowledged receipt or MO");
  const notFound = options.notFound ?? 0;
  assert.ok(report.notFoundAnswers <= notFound, `404 answers: ${report.notFoundAnswers}, at most ${notFound} allowed`);
  if (options.resubmitted !== undefined) assert.ok(report.smscResubmitted <= options.resubmitted, `${report.smscResubmitted} submits accepted twice, at most ${options.resubmitted} allowed`);
  const unexplained = [...repeatedCalls(bridge)].filter(([key, repeat]) => !options.mayRepeat?.(key, repeat));
  assert.deepEqual(unexplained, [], "no status or MO accepted by courier twice");
}

/**
 * The one repeat a kill -9 may cause: a call courier accepted while the bridge had not yet
 * removed it from the outbox (its 200 was on the wire, or the removal not yet committed).
 * After the restart the outbox sends it again: the same status or MO, once more, in order.
 * At most the outbox's concurrent deliveries (32) can be caught so. Anything else (a status
 * reported again from a receipt, an MT submitted twice whose receipts both count, a status
 * handed over twice) is a bug. An MT the SMSC accepted whose store write the kill cut off
 * is submitted again (two SMS), but its first receipt matches nothing, so RapidPro sees one.
 * And the MO whose answer the kill cut off: the SMSC delivers it again and, with no id to
 * recognise it by, it is queued again (once more than the rule above allows).
 */
export function repeatsOfKill(killedAt: { moAtKill?: string; courierAccepted: number; outbox: Set<string> }) {
  return (key: string, repeat: { times: number; first: number }): boolean => {
    const resentBySmsc = killedAt.moAtKill !== undefined && key === callKey("receive", { text: killedAt.moAtKill }) ? 1 : 0;
    const fromOutbox = repeat.first < killedAt.courierAccepted && killedAt.outbox.has(key) ? 1 : 0;
    return fromOutbox + resentBySmsc > 0 && repeat.times <= 1 + fromOutbox + resentBySmsc;
  };
}
