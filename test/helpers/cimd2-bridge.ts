/**
 * examples/rapidpro-cimd2-bridge.json as users deploy it: the installed package copied into a
 * fresh Node-RED user directory, the flow deployed unchanged, configured only by environment
 * variables, against the courier simulator and sim/cimd2 on 127.0.0.1 (started as the other
 * examples are, by test/helpers/bridge-ledger.ts's launchExample), and counted by the same
 * ledger. Shared by the CIMD2 end-to-end tests (test/e2e/cimd2-bridge.test.ts,
 * split-parts.test.ts, cimd2-faults.test.ts).
 */
import { startCimd2Sim, type Cimd2Sim, type Cimd2SimOptions } from "../../sim/cimd2";
import { AUTH, bridgeEnv, launchExample, smscLogin, type Bridge, type SmscLedger } from "./bridge-ledger";

export type Cimd2Bridge = Bridge<Cimd2Sim>;

/** sim/cimd2 as the ledger counts it: a report or MO is held until answered with a plain 70 / 73. */
export function cimd2Ledger(sim: Cimd2Sim): SmscLedger {
  return {
    submittedTexts: () => sim.submitted.map((record) => record.text ?? ""),
    receiptsSent: () => sim.counters.reports,
    undelivered: () => sim.held,
    redeliveries: () => sim.counters.redeliveries,
    answers: () => ({ plain: sim.counters.answered, refused: sim.counters.refusedAnswers }),
  };
}

export async function startCimd2Bridge(options: { template: string; userDir: string; sim?: Cimd2SimOptions }): Promise<Cimd2Bridge> {
  const { login, password } = smscLogin("cimd2");
  const sim = await startCimd2Sim({ credentials: { username: login, password }, ...options.sim });
  const env = (courierUrl: string) => bridgeEnv("cimd2", { courierUrl, smscPort: sim.port, auth: AUTH, storeUrl: "" });
  const bridge = await launchExample("rapidpro-cimd2-bridge.json", options, env, sim, () => sim.close());
  return Object.assign(bridge, { counts: cimd2Ledger(sim) });
}
