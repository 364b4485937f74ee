/**
 * Shared by the UCP session tests: a session wired to the UCP simulator with short timers,
 * and a recorder of everything the session says (to check the password never leaks).
 */
import { UcpSession, type SessionStatus, type UcpSessionOptions } from "../../../lib/ucp/session";
import { startUcpSmsc, type UcpSim, type UcpSimOptions } from "../../../sim/ucp";
import { waitFor } from "../../helpers/wait";

export const USERNAME = "4470";
export const PASSWORD = "pw-Zq8!x";

export interface Rig {
  sim: UcpSim;
  session: UcpSession;
  statuses: SessionStatus[];
  logs: string[];
  close(): Promise<void>;
}

export async function rig(sessionOptions: Partial<UcpSessionOptions> = {}, simOptions: UcpSimOptions = {}): Promise<Rig> {
  const sim = await startUcpSmsc({ credentials: { username: USERNAME, password: PASSWORD }, notifyDelayMs: 20, ...simOptions });
  const session = new UcpSession({
    host: "127.0.0.1",
    port: sim.port,
    username: USERNAME,
    password: PASSWORD,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: 2_000,
    drainTimeoutMs: 1_000,
    ...sessionOptions,
  });
  const statuses: SessionStatus[] = [];
  const logs: string[] = [];
  session.on("status", (s: SessionStatus) => statuses.push(s));
  session.on("log", (l: { level: string; text: string }) => logs.push(`${l.level}: ${l.text}`));
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

export async function loggedIn(r: Rig, logins = 1): Promise<void> {
  await r.session.start();
  await waitFor(() => r.session.status.state === "bound" && r.sim.counters.logins >= logins, `login number ${logins}`);
}

export { waitFor };
