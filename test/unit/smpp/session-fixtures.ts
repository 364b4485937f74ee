/**
 * Shared by the session*.test.ts files: a session wired to a simulator with short timers,
 * a bounded wait, and a recorder of everything the session says (to check no secret leaks).
 */
import { SmppSession, type SessionStatus, type SmppSessionOptions } from "../../../lib/smpp/session";
import { startSmsc, type SmscOptions, type SmscSim } from "../../../sim/smsc";
import { waitFor as poll } from "../../helpers/wait";

export const SYSTEM_ID = "esme01";
export const PASSWORD = "pw-Zq8!x";

export interface Rig {
  sim: SmscSim;
  session: SmppSession;
  /** Every status the session emitted, in order. */
  statuses: SessionStatus[];
  /** Every log line, "level: text". */
  logs: string[];
  /** Closes the session, then the simulator (both bounded). */
  close(): Promise<void>;
}

export async function rig(
  sessionOptions: Partial<SmppSessionOptions> = {},
  smscOptions: SmscOptions = {},
  start = true,
): Promise<Rig> {
  const sim = await startSmsc({ credentials: { systemId: SYSTEM_ID, password: PASSWORD }, ...smscOptions });
  const session = new SmppSession({
    host: "127.0.0.1",
    port: sim.port,
    systemId: SYSTEM_ID,
    password: PASSWORD,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    connectTimeoutMs: 2_000,
    bindTimeoutMs: 2_000,
    unbindTimeoutMs: 1_000,
    drainTimeoutMs: 1_000,
    ...sessionOptions,
  });
  const statuses: SessionStatus[] = [];
  const logs: string[] = [];
  session.on("status", (s: SessionStatus) => statuses.push(s));
  session.on("log", (l: { level: string; text: string }) => logs.push(`${l.level}: ${l.text}`));
  if (start) session.start();
  return {
    sim,
    session,
    statuses,
    logs,
    async close() {
      await session.close();
      await sim.close();
    },
  };
}

/** The shared poll, with the 3 s these session tests allow by default. */
export function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  return poll(check, what, timeoutMs);
}

export function bound(r: Rig): Promise<void> {
  return waitFor(() => r.session.state === "bound", "the session to be bound");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Submit parameters as the pure layer produces them: short_message always a Buffer. */
export function params(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source_addr: "Info",
    source_addr_ton: 5,
    destination_addr: `4790000${String(n).padStart(3, "0")}`,
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    data_coding: 0,
    short_message: Buffer.from(`message ${n}`, "ascii"),
    ...extra,
  };
}
