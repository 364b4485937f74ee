/**
 * `npm start`: a local Node-RED on 127.0.0.1:1880 with this package loaded from the working
 * tree, its user directory in `.node-red/` (ignored by git), running the SMPP bridge example.
 *
 * With no RAPIDPRO_URL set it starts the courier simulator and plays RapidPro (an MT every few
 * seconds); with no SMPP_HOST set it starts the SMSC simulator (receipts, and an MO now and
 * then). Everything is printed as it travels, so a newcomer sees MT, MO and receipts flow in the
 * console and in the editor. With the variables set, the same command runs the real bridge.
 *
 * Every MT gets a fresh time-ordered UUID (v7), so a second run's messages are new to the
 * store kept in the user directory and their receipts show again. PORT changes the editor's
 * port; DEMO_USER_DIR another user directory (the tests run two demos on one).
 * DEMO_BRIDGE=cimd2 (or BRIDGE=cimd2) runs the CIMD2 bridge example instead (user directory
 * `.node-red-cimd2/`), with the CIMD2 simulator unless CIMD2_HOST is set; DEMO_BRIDGE=ucp the
 * UCP/EMI one (`.node-red-ucp/`), with the UCP simulator unless UCP_HOST is set.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { newMessageUuid } from "../lib/rapidpro/uuid";
import { PACKAGE_ROOT, startNodeRed, type NodeRed } from "./node-red";
import { DEFAULT_SEND_BODY, describeCall, sendMt, startCourier, type CourierSim } from "./courier";
import { deliverRespName, startSmsc, type SmscSim } from "./smsc";
import { startCimd2Sim, type Cimd2Sim } from "./cimd2";
import { startUcpSmsc, type UcpSim } from "./ucp";

const PORT = Number(process.env.PORT) || 1880;
const BRIDGE = process.env.DEMO_BRIDGE ?? process.env.BRIDGE ?? "smpp";
const CIMD2 = BRIDGE === "cimd2";
const UCP = BRIDGE === "ucp";
const USER_DIR = process.env.DEMO_USER_DIR ? path.resolve(process.env.DEMO_USER_DIR) : path.join(PACKAGE_ROOT, CIMD2 ? ".node-red-cimd2" : UCP ? ".node-red-ucp" : ".node-red");
const EXAMPLE = path.join(PACKAGE_ROOT, "examples", CIMD2 ? "rapidpro-cimd2-bridge.json" : UCP ? "rapidpro-ucp-bridge.json" : "rapidpro-smpp-bridge.json");
const DEMO_CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const DEMO_AUTH = "Token demo-secret";

/** True when something already listens on 127.0.0.1:port (Node-RED would exit with a stack trace). */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRINUSE"));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
  });
}

async function main(): Promise<void> {
  if (await portInUse(PORT)) {
    console.error(`[demo] port ${PORT} is in use: set PORT to another port, e.g. PORT=${PORT + 1} npm start`);
    process.exit(1);
  }
  const env: Record<string, string> = {};
  let courier: CourierSim | undefined;
  let smsc: SmscSim | undefined;
  let cimd2: Cimd2Sim | undefined;
  let ucp: UcpSim | undefined;
  if (!process.env.RAPIDPRO_URL) {
    courier = await startCourier({ channelUuid: DEMO_CHANNEL });
    Object.assign(env, { RAPIDPRO_URL: courier.url, RAPIDPRO_CHANNEL_UUID: DEMO_CHANNEL, RAPIDPRO_AUTH: DEMO_AUTH });
    console.log(`[demo] courier simulator on ${courier.url} (set RAPIDPRO_URL and friends to use a real RapidPro)`);
  }
  if (CIMD2 && !process.env.CIMD2_HOST) {
    cimd2 = await startCimd2Sim({ reportDelayMs: 1500, redeliverMs: 2000, keepSubmitted: false });
    Object.assign(env, { CIMD2_HOST: "127.0.0.1", CIMD2_PORT: String(cimd2.port), CIMD2_USERNAME: "demo", CIMD2_PASSWORD: "demo" });
    console.log(`[demo] CIMD2 SMSC simulator on 127.0.0.1:${cimd2.port} (set CIMD2_HOST and friends to use a real SMSC)`);
  }
  if (UCP && !process.env.UCP_HOST) {
    ucp = await startUcpSmsc({ port: 0, notifyDelayMs: 1500, redeliverMs: 2000 });
    Object.assign(env, { UCP_HOST: "127.0.0.1", UCP_PORT: String(ucp.port), UCP_USERNAME: "demo", UCP_PASSWORD: "demo" });
    console.log(`[demo] UCP/EMI SMSC simulator on 127.0.0.1:${ucp.port} (set UCP_HOST and friends to use a real SMSC)`);
  }
  if (!CIMD2 && !UCP && !process.env.SMPP_HOST) {
    smsc = await startSmsc({ port: 0, receiptDelayMs: 1500, redeliverMs: 2000, keepSubmitted: false });
    Object.assign(env, { SMPP_HOST: "127.0.0.1", SMPP_PORT: String(smsc.port), SMPP_SYSTEM_ID: "demo", SMPP_PASSWORD: "demo" });
    console.log(`[demo] SMSC simulator on 127.0.0.1:${smsc.port} (set SMPP_HOST and friends to use a real SMSC)`);
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
  printHowToSend(red, courier);

  const timers: NodeJS.Timeout[] = [];
  if (courier) timers.push(playCourier(red, courier));
  if (smsc) timers.push(playPhones((mo) => smsc.sendMo(mo).then((statuses) => `deliver_sm_resp ${statuses.map(deliverRespName).join(", ")}`)));
  if (ucp) timers.push(playPhones((mo) => ucp.sendMo(mo).then((results) => `UCP results ${results.join(",")}`)));
  if (cimd2) timers.push(playPhones((mo) => cimd2.sendMo(mo).then((answers) => `CIMD2 answers ${answers.join(",")}`)));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    await red.stop();
    await courier?.close();
    await smsc?.close();
    await cimd2?.close();
    await ucp?.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** Once: where RapidPro's side is, the Authorization it uses, and a command to send an MT by hand. */
function printHowToSend(red: NodeRed, courier: CourierSim | undefined): void {
  const auth = courier ? DEMO_AUTH : undefined;
  console.log(`[demo] courier URL: ${courier ? courier.url : process.env.RAPIDPRO_URL}  (channel ${courier ? DEMO_CHANNEL : process.env.RAPIDPRO_CHANNEL_UUID})`);
  // A real channel's value is a secret: only the demo's own is printed.
  console.log(`[demo] Authorization: ${auth ?? "the value of RAPIDPRO_AUTH"}`);
  console.log(
    `[demo] send one yourself: npx rapidpro-sms-sim send --url ${red.url}/rapidpro/send --auth "${auth ?? "$RAPIDPRO_AUTH"}" --to +250788383383 --text "Hello from the command line"`,
  );
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
      console.log(`[demo] bridge -> RapidPro: ${describeCall(call)}`);
    }
    for (; refused < courier.refused.length; refused++) {
      const call = courier.refused[refused];
      console.log(`[demo] bridge -> RapidPro: REFUSED ${call.status} ${call.path}: ${call.error}`);
    }
    n++;
    const uuid = newMessageUuid();
    const text = TEXTS[n % TEXTS.length];
    sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: DEMO_AUTH, channelUuid: DEMO_CHANNEL, maxLength: 640 }, { uuid, to: "+250788383383", text })
      .then((parts) => console.log(`[demo] RapidPro -> bridge: MT ${uuid} "${text.slice(0, 40)}" -> HTTP ${parts.map((p) => p.status).join(",")}`))
      .catch((err: Error) => console.log(`[demo] RapidPro -> bridge: MT ${uuid} failed: ${err.message}`));
  }, 3000);
}

/** A phone answers now and then: an MO through the SMSC simulator every 10 s. */
function playPhones(sendMo: (mo: { from: string; to: string; text: string }) => Promise<string>): NodeJS.Timeout {
  let n = 0;
  return setInterval(() => {
    n++;
    const text = n % 2 ? `Reply ${n} from a phone` : `Ответ ${n} с телефона ☺`;
    sendMo({ from: "+250788123123", to: "2020", text })
      .then((answered) => console.log(`[demo] phone -> SMSC -> bridge: MO "${text}" -> ${answered}`))
      .catch((err: Error) => console.log(`[demo] MO failed: ${err.message}`));
  }, 10_000);
}

main().catch((err: Error) => {
  console.error(`[demo] ${err.message}`);
  process.exit(1);
});
