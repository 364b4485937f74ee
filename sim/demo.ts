/**
 * `npm start`: a local Node-RED on 127.0.0.1:1880 with this package loaded from the working
 * tree and its user directory in `.node-red/` (ignored by git).
 *
 * With no RAPIDPRO_URL set it also starts the simulators and wires the example to them, then
 * plays courier: one MT every few seconds, printed as it travels, so a newcomer sees messages
 * flow in the console and in the editor. With the variables set it runs the real bridge.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT, startNodeRed, type NodeRed } from "./node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "./courier";

const PORT = Number(process.env.PORT) || 1880;
const USER_DIR = path.join(PACKAGE_ROOT, ".node-red");
const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "rapidpro-external-channel.json");
const DEMO_CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const DEMO_AUTH = "Token demo-secret";

async function main(): Promise<void> {
  const simulate = !process.env.RAPIDPRO_URL;
  let courier: CourierSim | undefined;
  const env: Record<string, string> = {};
  if (simulate) {
    courier = await startCourier({ channelUuid: DEMO_CHANNEL });
    Object.assign(env, { RAPIDPRO_URL: courier.url, RAPIDPRO_CHANNEL_UUID: DEMO_CHANNEL, RAPIDPRO_AUTH: DEMO_AUTH });
    console.log(`[demo] courier simulator on ${courier.url} (set RAPIDPRO_URL to use a real RapidPro)`);
  }

  const firstRun = !fs.existsSync(path.join(USER_DIR, "flows.json"));
  const red = await startNodeRed({
    userDir: USER_DIR,
    port: PORT,
    env,
    loadFromWorkingTree: true,
    echo: true,
    flows: firstRun ? JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) : undefined,
  });
  console.log(`[demo] Node-RED editor: ${red.url}/  (flows kept in ${USER_DIR}; delete it to start over)`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(driver);
    await red.stop();
    await courier?.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const driver = simulate && courier ? playCourier(red, courier) : undefined;
}

/** Sends an MT every 3 s and prints what courier hears back. */
function playCourier(red: NodeRed, courier: CourierSim): NodeJS.Timeout {
  let n = 0;
  let seen = 0;
  return setInterval(() => {
    for (; seen < courier.accepted.length; seen++) {
      const call = courier.accepted[seen];
      console.log(`[demo] bridge -> courier: ${call.action} ${new URLSearchParams(call.params).toString()}`);
    }
    n++;
    const uuid = `0191e180-7d60-7000-a000-${String(n).padStart(12, "0")}`;
    const text = n % 3 === 0 ? "Привет! A Unicode message ☺" : `Hello from RapidPro, message ${n}`;
    sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: DEMO_AUTH, channelUuid: DEMO_CHANNEL }, { uuid, to: "+250788383383", text })
      .then((parts) => console.log(`[demo] courier -> bridge: MT ${uuid} "${text}" -> HTTP ${parts.map((p) => p.status).join(",")}`))
      .catch((err: Error) => console.log(`[demo] courier -> bridge: MT ${uuid} failed: ${err.message}`));
  }, 3000);
}

main().catch((err: Error) => {
  console.error(`[demo] ${err.message}`);
  process.exit(1);
});
