/**
 * The run every bridge's kill -9 fault test makes (test/e2e/faults.test.ts, ucp-faults.test.ts,
 * cimd2-faults.test.ts): MT sent the courier way, MOs one after another from the start, Node-RED
 * killed with SIGKILL once a given number of MT were answered, then started again on the same
 * user directory. It notes what the kill leaves for repeatsOfKill (test/helpers/bridge-ledger.ts)
 * to explain: the MO whose answer it cut off, how many calls courier had accepted, and what the
 * outbox held. Every wait is bounded, so a hang fails with what was still missing.
 */
import { outboxCalls, sendAllMt, type ExampleBridge, type MtOutcome } from "./bridge-ledger";
import { waitFor, within } from "./wait";

/** What the SMSC simulators of all three protocols take to deliver an MO. */
interface MoSender {
  sendMo(mo: { from: string; to: string; text: string }): Promise<unknown>;
}

export interface KilledAt {
  /** The MO whose answer the kill cut off: the SMSC delivers it again. */
  moAtKill?: string;
  /** Calls courier had accepted by the restart. */
  courierAccepted: number;
  /** Calls the outbox held at the kill (callKey). */
  outbox: Set<string>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWithKill<S extends MoSender>(
  bridge: ExampleBridge<S>,
  options: {
    uuids: string[];
    textOf: (i: number) => string;
    moTexts: string[];
    /** Node-RED is killed when this many MT have been answered 2xx. */
    killAtAnswer: number;
    /** For the MT and the MO together (a normal run takes well under it); the restart has its own 90 s. */
    deadlineMs: number;
    /** Read right after the kill, before anything else moves: the SMSC's counters, say. */
    atKill?: () => void;
    /** Where the SMSC stood, for a failure's message. */
    smscState?: () => unknown;
  },
): Promise<{ outcomes: MtOutcome[]; killedAt: KilledAt }> {
  const started = Date.now();
  let killed: Promise<void> | undefined;
  let moAwaiting: string | undefined;
  let moAtKill: string | undefined;
  const state = () => ({ smsc: options.smscState?.(), courierAccepted: bridge.courier.accepted.length, moAwaiting });
  const sending = sendAllMt({
    sendUrl: bridge.sendUrl,
    uuids: options.uuids,
    textOf: options.textOf,
    concurrency: 20,
    deadlineMs: options.deadlineMs,
    onAnswered: (n) => {
      if (n !== options.killAtAnswer) return;
      moAtKill = moAwaiting;
      killed = bridge.kill();
    },
  });
  // MOs one after another from the start: some before, some during and after the outage.
  const mos = (async () => {
    for (const text of options.moTexts) {
      moAwaiting = text;
      await bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text });
      moAwaiting = undefined;
      await pause(100);
    }
  })();
  // A failing MO loop must not go unobserved while the kill is awaited.
  mos.catch(() => undefined);
  await waitFor(() => killed !== undefined, `the kill (${options.killAtAnswer} MT answered) ${JSON.stringify(state())}`, 60_000);
  await within(killed!, 30_000, "kill -9 of Node-RED", state);
  options.atKill?.();
  const outbox = new Set(outboxCalls(bridge.userDir));
  // Counted while Node-RED is down: a call that reached courier just before the kill may be
  // answered (and counted) just after it.
  await pause(2_000);
  const courierAccepted = bridge.courier.accepted.length;
  await within(bridge.restart(), 90_000, "Node-RED's restart", state);
  // With an MT request still open at the deadline, 20 s more.
  const left = () => started + options.deadlineMs + 20_000 - Date.now();
  const outcomes = await within(sending, left(), "every MT answered (courier-style sender)", state);
  await within(mos, left(), `${options.moTexts.length} MO acknowledged`, state);
  return { outcomes, killedAt: { moAtKill, courierAccepted, outbox } };
}
