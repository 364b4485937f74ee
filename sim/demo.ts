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
 * DEMO_BRIDGE=cimd2 runs the CIMD2 bridge example instead (user directory
 * `.node-red-cimd2/`), with the CIMD2 simulator unless CIMD2_HOST is set; DEMO_BRIDGE=ucp the
 * UCP/EMI one (`.node-red-ucp/`), with the UCP simulator unless UCP_HOST is set.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { newMessageUuid } from "../lib/rapidpro/uuid";
import { PACKAGE_ROOT, startNodeRed, type NodeRed } from "./node-red";
import { DEFAULT_SEND_BODY, describeCall, sendMt, startCourier, type CourierSim } from "./courier";
import { deliverRespName, startSmsc } from "./smsc";
import { startCimd2Sim } from "./cimd2";
import { startUcpSmsc } from "./ucp";

const PORT = Number(process.env.PORT) || 1880;
/** An SMSC simulator the demo runs: the variables that point the example at it, and a phone that sends MO through it. */
interface DemoSmsc {
  env: Record<string, string>;
  port: number;
  /** Sends an MO; resolves with how the bridge answered, as the protocol names it. */
  sendMo(mo: { from: string; to: string; text: string }): Promise<string>;
  close(): Promise<unknown>;
}

/** The bridges `DEMO_BRIDGE` chooses from: example flow, user directory, and the simulator unless `<host>` is set. */
const BRIDGES: Record<string, { example: string; userDir: string; host: string; name: string; start(): Promise<DemoSmsc> }> = {
  smpp: {
    example: "rapidpro-smpp-bridge.json",
    userDir: ".node-red",
    host: "SMPP_HOST",
    name: "SMSC simulator",
    async start() {
      const sim = await startSmsc({ port: 0, receiptDelayMs: 1500, redeliverMs: 2000, keepSubmitted: false });
      return {
        env: { SMPP_HOST: "127.0.0.1", SMPP_PORT: String(sim.port), SMPP_SYSTEM_ID: "demo", SMPP_PASSWORD: "demo" },
        port: sim.port,
        sendMo: (mo) => sim.sendMo(mo).then((statuses) => `deliver_sm_resp ${statuses.map(deliverRespName).join(", ")}`),
        close: () => sim.close(),
      };
    },
  },
  ucp: {
    example: "rapidpro-ucp-bridge.json",
    userDir: ".node-red-ucp",
    host: "UCP_HOST",
    name: "UCP/EMI SMSC simulator",
    async start() {
      const sim = await startUcpSmsc({ port: 0, notifyDelayMs: 1500, redeliverMs: 2000 });
      return {
        env: { UCP_HOST: "127.0.0.1", UCP_PORT: String(sim.port), UCP_USERNAME: "demo", UCP_PASSWORD: "demo" },
        port: sim.port,
        sendMo: (mo) => sim.sendMo(mo).then((results) => `UCP results ${results.join(",")}`),
        close: () => sim.close(),
      };
    },
  },
  cimd2: {
    example: "rapidpro-cimd2-bridge.json",
    userDir: ".node-red-cimd2",
    host: "CIMD2_HOST",
    name: "CIMD2 SMSC simulator",
    async start() {
      const sim = await startCimd2Sim({ reportDelayMs: 1500, redeliverMs: 2000, keepSubmitted: false });
      return {
        env: { CIMD2_HOST: "127.0.0.1", CIMD2_PORT: String(sim.port), CIMD2_USERNAME: "demo", CIMD2_PASSWORD: "demo" },
        port: sim.port,
        sendMo: (mo) => sim.sendMo(mo).then((answers) => `CIMD2 answers ${answers.join(",")}`),
        close: () => sim.close(),
      };
    },
  },
};
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
  const choice = process.env.DEMO_BRIDGE ?? "smpp";
  const bridge = BRIDGES[choice];
  if (!bridge) {
    console.error(`[demo] DEMO_BRIDGE must be one of ${Object.keys(BRIDGES).join(", ")}, not "${choice}"`);
    process.exit(1);
  }
  const userDir = process.env.DEMO_USER_DIR ? path.resolve(process.env.DEMO_USER_DIR) : path.join(PACKAGE_ROOT, bridge.userDir);
  if (await portInUse(PORT)) {
    console.error(`[demo] port ${PORT} is in use: set PORT to another port, e.g. PORT=${PORT + 1} npm start`);
    process.exit(1);
  }
  const env: Record<string, string> = {};
  let courier: CourierSim | undefined;
  let smsc: DemoSmsc | undefined;
  if (!process.env.RAPIDPRO_URL) {
    courier = await startCourier({ channelUuid: DEMO_CHANNEL });
    Object.assign(env, { RAPIDPRO_URL: courier.url, RAPIDPRO_CHANNEL_UUID: DEMO_CHANNEL, RAPIDPRO_AUTH: DEMO_AUTH });
    console.log(`[demo] courier simulator on ${courier.url} (set RAPIDPRO_URL and friends to use a real RapidPro)`);
  }
  if (!process.env[bridge.host]) {
    smsc = await bridge.start();
    Object.assign(env, smsc.env);
    console.log(`[demo] ${bridge.name} on 127.0.0.1:${smsc.port} (set ${bridge.host} and friends to use a real SMSC)`);
  }

  const firstRun = !fs.existsSync(path.join(userDir, "flows.json"));
  const red = await startNodeRed({
    userDir,
    port: PORT,
    env,
    loadFromWorkingTree: true,
    echo: process.env.DEMO_QUIET !== "1",
    flows: firstRun ? JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", bridge.example), "utf8")) : undefined,
  });
  console.log(`[demo] Node-RED editor: ${red.url}/  (flows kept in ${userDir}; delete it to start over)`);
  printHowToSend(red, courier);

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
function playPhones(smsc: DemoSmsc): NodeJS.Timeout {
  let n = 0;
  return setInterval(() => {
    n++;
    const text = n % 2 ? `Reply ${n} from a phone` : `Ответ ${n} с телефона ☺`;
    smsc
      .sendMo({ from: "+250788123123", to: "2020", text })
      .then((answered) => console.log(`[demo] phone -> SMSC -> bridge: MO "${text}" -> ${answered}`))
      .catch((err: Error) => console.log(`[demo] MO failed: ${err.message}`));
  }, 10_000);
}

main().catch((err: Error) => {
  console.error(`[demo] ${err.message}`);
  process.exit(1);
});
