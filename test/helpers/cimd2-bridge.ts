/**
 * examples/rapidpro-cimd2-bridge.json as users deploy it: the installed package copied into a
 * fresh Node-RED user directory, the flow deployed unchanged, configured only by environment
 * variables, against the courier simulator and sim/cimd2 on 127.0.0.1. Shared by the CIMD2
 * end-to-end tests (test/e2e/cimd2-bridge.test.ts, split-parts.test.ts, faults.test.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { freePort, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { startCourier, type CourierSim } from "../../sim/courier";
import { startCimd2Sim, type Cimd2Sim, type Cimd2SimOptions } from "../../sim/cimd2";
import { AUTH, CHANNEL } from "./bridge-ledger";

export const CIMD2_USER = "bridge";
export const CIMD2_PASSWORD = "cimd2-bridge-secret";

export interface Cimd2Bridge {
  courier: CourierSim;
  sim: Cimd2Sim;
  red(): NodeRed;
  sendUrl(): string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  log(): string;
  close(): Promise<void>;
}

/** The environment the example reads, pointed at a courier and a CIMD2 SMSC on 127.0.0.1. */
export function cimd2BridgeEnv(options: { courierUrl: string; smscPort: number; storeUrl?: string }): Record<string, string> {
  return {
    RAPIDPRO_URL: options.courierUrl,
    RAPIDPRO_CHANNEL_UUID: CHANNEL,
    RAPIDPRO_AUTH: AUTH,
    CIMD2_HOST: "127.0.0.1",
    CIMD2_PORT: String(options.smscPort),
    CIMD2_USERNAME: CIMD2_USER,
    CIMD2_PASSWORD,
    ...(options.storeUrl !== undefined ? { STORE_URL: options.storeUrl } : {}),
  };
}

export async function startCimd2Bridge(options: { template: string; userDir: string; sim?: Cimd2SimOptions }): Promise<Cimd2Bridge> {
  fs.cpSync(options.template, options.userDir, { recursive: true });
  const courier = await startCourier({ channelUuid: CHANNEL });
  const sim = await startCimd2Sim({ credentials: { username: CIMD2_USER, password: CIMD2_PASSWORD }, ...options.sim });
  const env = cimd2BridgeEnv({ courierUrl: courier.url, smscPort: sim.port, storeUrl: "" });
  const port = await freePort();
  const flows = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", "rapidpro-cimd2-bridge.json"), "utf8")) as unknown[];
  let red: NodeRed;
  try {
    red = await startNodeRed({ userDir: options.userDir, port, flows, env });
  } catch (error) {
    await sim.close();
    await courier.close();
    throw error;
  }
  let earlier = "";
  return {
    courier,
    sim,
    red: () => red,
    sendUrl: () => `${red.url}/rapidpro/send`,
    kill: () => red.stop("SIGKILL"),
    async restart() {
      earlier += red.log() + "\n----- restart -----\n";
      red = await startNodeRed({ userDir: options.userDir, port, env });
    },
    log: () => earlier + red.log(),
    async close() {
      await red.stop().catch(() => undefined);
      await sim.close();
      await courier.close();
    },
  };
}
