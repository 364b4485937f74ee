/**
 * `npm start`: a local Node-RED on 127.0.0.1:1880 with this package loaded from the working
 * tree, its user directory in `.node-red/` (ignored by git), running the SMPP bridge example.
 *
 * With no RAPIDPRO_URL set it starts the courier simulator and plays RapidPro (an MT every few
 * seconds); with no SMPP_HOST set it starts the SMSC simulator (receipts, and an MO now and
 * then). Everything is printed as it travels, so a newcomer sees MT, MO and receipts flow in the
 * console and in the editor. With the variables set, the same command runs the real bridge.
 * `BRIDGE=ucp npm start` runs the UCP/EMI bridge example instead (UCP_HOST and friends; the UCP
 * simulator when UCP_HOST is not set), in its own user directory `.node-red-ucp/`.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT, startNodeRed, type NodeRed } from "./node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "./courier";
import { startSmsc } from "./smsc";
import { startUcpSmsc } from "./ucp";

const PORT = Number(process.env.PORT) || 1880;
const UCP = process.env.BRIDGE === "ucp";
const USER_DIR = path.join(PACKAGE_ROOT, UCP ? ".node-red-ucp" : ".node-red");
const EXAMPLE = path.join(PACKAGE_ROOT, "examples", UCP ? "rapidpro-ucp-bridge.json" : "rapidpro-smpp-bridge.json");

/** Either SMSC simulator, as the demo uses it. */
interface Phones {
  sendMo(mo: { from: string; to: string; text: string }): Promise<unknown[]>;
  close(): Promise<void>;
}
const DEMO_CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const DEMO_AUTH = "Token demo-secret";

async function main(): Promise<void> {
  const env: Record<string, string> = {};
  let courier: CourierSim | undefined;
  let smsc: Phones | undefined;
  if (!process.env.RAPIDPRO_URL) {
    courier = await startCourier({ channelUuid: DEMO_CHANNEL });
    Object.assign(env, { RAPIDPRO_URL: courier.url, RAPIDPRO_CHANNEL_UUID: DEMO_CHANNEL, RAPIDPRO_AUTH: DEMO_AUTH });
    console.log(`[demo] courier simulator on ${courier.url} (set RAPIDPRO_URL and friends to use a real RapidPro)`);
  }
  if (UCP && !process.env.UCP_HOST) {
    const ucp = await startUcpSmsc({ port: 0, notifyDelayMs: 1500, redeliverMs: 2000 });
    smsc = ucp;
    Object.assign(env, { UCP_HOST: "127.0.0.1", UCP_PORT: String(ucp.port), UCP_USERNAME: "demo", UCP_PASSWORD: "demo" });
    console.log(`[demo] UCP/EMI SMSC simulator on 127.0.0.1:${ucp.port} (set UCP_HOST and friends to use a real SMSC)`);
  }
  if (!UCP && !process.env.SMPP_HOST) {
    const sim = await startSmsc({ port: 0, receiptDelayMs: 1500, redeliverMs: 2000, keepSubmitted: false });
    smsc = sim;
    Object.assign(env, { SMPP_HOST: "127.0.0.1", SMPP_PORT: String(sim.port), SMPP_SYSTEM_ID: "demo", SMPP_PASSWORD: "demo" });
    console.log(`[demo] SMSC simulator on 127.0.0.1:${sim.port} (set SMPP_HOST and friends to use a real SMSC)`);
  }

  const firstRun = !fs.existsSync(path.join(USER_DIR, "flows.json"));
  const red = await startNodeRed({
    userDir: USER_DIR,
    port: PORT,
    env,
    loadFromWorkingTree: true,
    echo: process.env.DEMO_QUIET !== "1",
    flows: firstRun ? JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) : undefined,
  });
  console.log(`[demo] Node-RED editor: ${red.url}/  (flows kept in ${USER_DIR}; delete it to start over)`);

  const timers: NodeJS.Timeout[] = [];
  if (courier) timers.push(playCourier(red, courier));
  if (smsc) timers.push(playPhones(smsc));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    await red.stop();
    await courier?.close();
    await smsc?.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

const TEXTS = [
  "Hello from RapidPro",
  "Привет! A Unicode message ☺",
  "A long message that does not fit in one SMS, so the bridge splits it into concatenated parts with a UDH, and the phone shows it as one message again.",
];

/** Sends an MT every 3 s and prints what courier hears back. */
function playCourier(red: NodeRed, courier: CourierSim): NodeJS.Timeout {
  let n = 0;
  let seen = 0;
  let refused = 0;
  return setInterval(() => {
    for (; seen < courier.accepted.length; seen++) {
      const call = courier.accepted[seen];
      console.log(`[demo] bridge -> RapidPro: ${call.action} ${new URLSearchParams(call.params).toString()}`);
    }
    for (; refused < courier.refused.length; refused++) {
      const call = courier.refused[refused];
      console.log(`[demo] bridge -> RapidPro: REFUSED ${call.status} ${call.path}: ${call.error}`);
    }
    n++;
    const uuid = `0191e180-7d60-7000-a000-${String(n).padStart(12, "0")}`;
    const text = TEXTS[n % TEXTS.length];
    sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: DEMO_AUTH, channelUuid: DEMO_CHANNEL, maxLength: 640 }, { uuid, to: "+250788383383", text })
      .then((parts) => console.log(`[demo] RapidPro -> bridge: MT ${uuid} "${text.slice(0, 40)}" -> HTTP ${parts.map((p) => p.status).join(",")}`))
      .catch((err: Error) => console.log(`[demo] RapidPro -> bridge: MT ${uuid} failed: ${err.message}`));
  }, 3000);
}

/** A phone answers now and then: an MO through the SMSC simulator every 10 s. */
function playPhones(smsc: Phones): NodeJS.Timeout {
  let n = 0;
  return setInterval(() => {
    n++;
    const text = n % 2 ? `Reply ${n} from a phone` : `Ответ ${n} с телефона ☺`;
    smsc
      .sendMo({ from: "+250788123123", to: "2020", text })
      .then((statuses) => console.log(`[demo] phone -> SMSC -> bridge: MO "${text}" -> ${UCP ? "result" : "deliver_sm_resp"} ${statuses.join(",")}`))
      .catch((err: Error) => console.log(`[demo] MO failed: ${err.message}`));
  }, 10_000);
}

main().catch((err: Error) => {
  console.error(`[demo] ${err.message}`);
  process.exit(1);
});
