/**
 * The `ceiling` scenario's client: submit_sm round trips straight to the SMSC simulator with
 * the `smpp` package, a window of `window` submits in flight, no bridge in between. It is the
 * most any SMPP path through this simulator can do on this machine, so every other scenario
 * is reported as a ratio of it (smpp-and-gateways.md §7.2 measured ~21,700/s at window 10).
 *
 * `session` does the same through our session layer (lib/smpp/session.ts), to show what the
 * layer costs apart from Node-RED.
 */
import * as smpp from "smpp";
import { SmppSession } from "../lib/smpp";
import { countError, now, Samples, type ErrorCounts } from "./stats";

export interface SubmitLoadOptions {
  port: number;
  systemId: string;
  password: string;
  count: number;
  window: number;
  deadline: number;
}

export interface SubmitLoadResult {
  startedAt: number;
  sent: number;
  ok: Samples;
  errors: ErrorCounts;
}

/** A submit like the bridge's: GSM text, international destination, no receipt asked. */
function submitParams(i: number): smpp.PduParams {
  return {
    source_addr: "2020",
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    destination_addr: `2507883${String(i % 100_000).padStart(5, "0")}`,
    registered_delivery: 0,
    short_message: `Bench message ${i}: hello & welcome, reply +1 to stop`,
  };
}

export async function runCeiling(options: SubmitLoadOptions): Promise<SubmitLoadResult> {
  const session = smpp.connect({ host: "127.0.0.1", port: options.port });
  session.on("error", () => undefined);
  const ok = new Samples(options.count);
  const errors: ErrorCounts = {};
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    session.socket.setNoDelay(true); // as our session layer does: Nagle would shrink the window
    // A transmitter: the simulator sends MO and receipts to its first receiving bind, which must stay the bridge's.
    const bound = await new Promise<number>((resolve) =>
      session.bind_transmitter({ system_id: options.systemId, password: options.password, interface_version: 0x34 }, (pdu) =>
        resolve(pdu.command_status),
      ),
    );
    if (bound !== 0) throw new Error(`ceiling client: bind refused (0x${bound.toString(16)})`);

    const startedAt = now();
    let sent = 0;
    let settled = 0;
    let guard: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (sent - settled < options.window && sent < options.count && Date.now() < options.deadline) {
          const t0 = now();
          const i = sent++;
          const written = session.submit_sm(submitParams(i), (pdu) => {
            settled++;
            const t = now();
            if (pdu.command_status === 0) ok.add(t - t0, t);
            else countError(errors, `submit_sm_resp 0x${pdu.command_status.toString(16)}`);
            pump();
          });
          if (!written) {
            settled++;
            countError(errors, "socket not writable");
          }
        }
        if (settled === sent && (sent >= options.count || Date.now() >= options.deadline)) resolve();
      };
      // A response that never comes must not hold the run: give up at the deadline.
      guard = setInterval(() => {
        if (Date.now() < options.deadline) return;
        if (sent > settled) countError(errors, "unanswered at deadline", sent - settled);
        settled = sent;
        resolve();
      }, 200);
      pump();
    });
    clearInterval(guard);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      session.unbind({}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { startedAt, sent, ok, errors };
  } finally {
    session.destroy();
  }
}

export async function runSessionCeiling(options: SubmitLoadOptions): Promise<SubmitLoadResult> {
  const session = new SmppSession({
    host: "127.0.0.1",
    port: options.port,
    systemId: options.systemId,
    password: options.password,
    mode: "transmitter",
    window: options.window,
    maxQueue: options.count + 1,
    queueTimeoutMs: Math.max(1_000, options.deadline - Date.now()),
  });
  const ok = new Samples(options.count);
  const errors: ErrorCounts = {};
  session.start();
  try {
    const bindBy = Date.now() + 10_000;
    while (session.state !== "bound" && Date.now() < bindBy) await new Promise((r) => setTimeout(r, 20));
    if (session.state !== "bound") throw new Error(`session ceiling: not bound (${session.status.lastError ?? session.state})`);
    const startedAt = now();
    let sent = 0;
    // The session queues and windows by itself; feed it ahead of the window so it never idles.
    const lane = async () => {
      while (sent < options.count && Date.now() < options.deadline) {
        const i = sent++;
        const t0 = now();
        const outcome = await session.submit(submitParams(i));
        const t = now();
        if (outcome.ok) ok.add(t - t0, t);
        else countError(errors, outcome.error.text);
      }
    };
    await Promise.all(Array.from({ length: options.window * 2 }, lane));
    return { startedAt, sent, ok, errors };
  } finally {
    await session.close();
  }
}
