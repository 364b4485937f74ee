#!/usr/bin/env node
/**
 * rapidpro-sms-sim: the simulators as a command-line tool, to point at your own flows.
 * `rapidpro-sms-sim --help` and `rapidpro-sms-sim <command> --help` say how to use each.
 *
 * Every server listens on 127.0.0.1 and prints what it sees; Ctrl-C stops it. Exit codes:
 * 0 done (or help), 1 the peer answered an error or a port is busy, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { newMessageUuid } from "../lib/rapidpro/uuid";
import { describeCall, sendMt, startCourier, DEFAULT_SEND_BODY } from "./courier";
import { deliverRespName, startSmsc, submittedText, type ReceiptStat, type SubmitRecord } from "./smsc";
import { RapportoSim } from "./rapporto";
import { runUcpCli } from "./ucp";
import { runCimd2Cli } from "./cimd2";

const DEMO_CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";

const USAGE = {
  "": `usage: rapidpro-sms-sim <command> [options]

commands:
  courier   play RapidPro's courier: receive the bridge's MO, statuses and opt-outs
  send      send an MT to the bridge the way courier does
  smsc      play an SMSC over SMPP 3.4: accept submit_sm, send receipts and MO
  rapporto  play Rapporto's HTTP API: accept MT, push DLR and MO
  ucp       play an SMSC over UCP/EMI: accept OT 51, send OT 53 notifications and OT 52 MO
  cimd2     play an SMSC over CIMD2: accept op 03, send op 23 status reports and op 20 MO

rapidpro-sms-sim <command> --help shows its options.`,
  courier: `usage: rapidpro-sms-sim courier [--port 8081] [--channel <uuid>] [--legacy-ids]

  --port N        port on 127.0.0.1 (default 8081; 0 picks a free one)
  --channel UUID  the EX channel's UUID (default ${DEMO_CHANNEL})
  --legacy-ids    accept integer message ids, as courier before v10.3.22 did`,
  send: `usage: rapidpro-sms-sim send --url <send URL> --to <number> --text <text> [options]

  --url URL            the bridge's send URL, e.g. http://127.0.0.1:1880/rapidpro/send
  --to NUMBER          destination, e.g. +250788383383
  --text TEXT          message text (split into parts as courier does)
  --auth VALUE         the Authorization header value (the channel's)
  --method M           POST (default), GET or PUT
  --content-type T     urlencoded (default), json, xml, or a header value (custom)
  --body TEMPLATE      body template with {{to}}, {{text}}, {{uuid}}, ... (default: RapidPro's)
  --max-length N       part length (default 160)
  --uuid UUID          message UUID (default: a new v7 UUID each time)

Exits 1 when the bridge answers a part with 4xx or 5xx, or cannot be reached.`,
  smsc: `usage: rapidpro-sms-sim smsc [--port 2775] [options]

  --port N                   port on 127.0.0.1 (default 2775; 0 picks a free one)
  --system-id ID --password PW   accept only this bind (default: any)
  --receipt STAT             receipt status: DELIVRD (default), UNDELIV, REJECTD, EXPIRED, ...
  --receipt-delay MS         delay before each receipt (default 1000)
  --mo-every S               send an MO every S seconds
  --mo-from NUMBER --mo-to NUMBER   the MO's sender and destination`,
  rapporto: `usage: rapidpro-sms-sim rapporto [--port 8082] [options]

  --port N              port on 127.0.0.1 (default 8082; 0 picks a free one)
  --service-id ID       serviceId MTs must carry (default login)
  --pass PW             pass MTs must carry (default 123)
  --mo-url URL          where to push MO (the rapporto-mo node's URL)
  --dlr-url URL         where to push DLR (the rapporto-dlr node's URL)
  --dlr-delay MS        delay before each DLR (default 1000)`,
  ucp: `usage: rapidpro-sms-sim ucp [--port 2776] [options]

  --port N                      port on 127.0.0.1 (default 2776; 0 picks a free one)
  --username U --password PW    accept only this OT 60 login (default: any)
  --notify OUTCOME              delivered (default), failed, buffered or none
  --notify-delay MS             delay before each notification (default 1000)
  --mo-every S                  send an MO every S seconds
  --mo-from NUMBER --mo-to NUMBER   the MO's sender and destination`,
  cimd2: `usage: rapidpro-sms-sim cimd2 [--port 9971] [options]

  --port N                  port on 127.0.0.1 (default 9971; 0 picks a free one)
  --user U --password PW    accept only this op 01 login (default: any)
  --report CODE             status report 061 code: 4 delivered (default), 2, 3, 6-9 failed, or none
  --report-delay MS         delay before each report (default 1000)
  --mo-every S              send an MO every S seconds

Faults are typed on stdin: drop, slow, error, noise, garbage, …`,
} as const;
type Command = Exclude<keyof typeof USAGE, "">;

/** Why the command stops, and with which exit code. */
class Exit extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const OPTIONS = {
  port: { type: "string" },
  channel: { type: "string", default: DEMO_CHANNEL },
  "legacy-ids": { type: "boolean", default: false },
  url: { type: "string" },
  to: { type: "string" },
  text: { type: "string" },
  auth: { type: "string" },
  method: { type: "string", default: "POST" },
  "content-type": { type: "string", default: "urlencoded" },
  body: { type: "string" },
  "max-length": { type: "string", default: "160" },
  uuid: { type: "string" },
  "system-id": { type: "string" },
  password: { type: "string" },
  receipt: { type: "string", default: "DELIVRD" },
  "receipt-delay": { type: "string", default: "1000" },
  "mo-every": { type: "string" },
  "mo-from": { type: "string", default: "+250788123123" },
  "mo-to": { type: "string", default: "2020" },
  "service-id": { type: "string" },
  pass: { type: "string" },
  "mo-url": { type: "string" },
  "dlr-url": { type: "string" },
  "dlr-delay": { type: "string", default: "1000" },
  username: { type: "string" },
  notify: { type: "string" },
  "notify-delay": { type: "string" },
} as const;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") return void console.log(USAGE[""]);
  if (command === undefined || !(command in USAGE) || command === "") throw new Exit(USAGE[""], 2);
  const cmd = command as Command;
  if (rest.includes("--help") || rest.includes("-h")) return void console.log(USAGE[cmd]);
  // The CIMD2 simulator parses its own options (sim/cimd2.ts).
  if (cmd === "cimd2") return runCimd2Cli(rest, onStop);
  let values: ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: typeof OPTIONS }>>["values"];
  try {
    values = parseArgs({ args: rest, strict: true, options: OPTIONS }).values;
  } catch (err) {
    throw new Exit(`rapidpro-sms-sim ${cmd}: ${(err as Error).message}\n\n${USAGE[cmd]}`, 2);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Exit(`rapidpro-sms-sim ${cmd}: --port must be a port number, not "${values.port}"`, 2);
  const listening = <T>(started: Promise<T>, chosen: number): Promise<T> =>
    started.catch((err: NodeJS.ErrnoException) => {
      throw err.code === "EADDRINUSE" ? new Exit(`port ${chosen} is in use: choose another with --port (0 picks a free one)`, 1) : err;
    });

  switch (cmd) {
    case "courier": {
      const courier = await listening(startCourier({ port: port ?? 8081, channelUuid: values.channel, legacyIds: values["legacy-ids"] }), port ?? 8081);
      console.log(`courier simulator: ${courier.url}/c/ex/${values.channel}/{receive,sent,delivered,failed,stopped}`);
      let seen = 0;
      let refused = 0;
      setInterval(() => {
        for (; seen < courier.accepted.length; seen++) console.log(`accepted ${describeCall(courier.accepted[seen])}`);
        for (; refused < courier.refused.length; refused++) console.log(`refused ${courier.refused[refused].status} ${courier.refused[refused].path}: ${courier.refused[refused].error}`);
      }, 200);
      onStop(() => courier.close());
      return;
    }
    case "send": {
      if (!values.url || !values.to || !values.text) throw new Exit(`rapidpro-sms-sim send needs --url, --to and --text\n\n${USAGE.send}`, 2);
      const uuid = values.uuid ?? newMessageUuid();
      let parts;
      try {
        parts = await sendMt(
          {
            sendUrl: values.url,
            method: values.method as "GET" | "POST" | "PUT",
            contentType: values["content-type"],
            body: values.body ?? DEFAULT_SEND_BODY,
            maxLength: Number(values["max-length"]),
            authorization: values.auth,
          },
          { uuid, to: values.to, text: values.text },
        );
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new Exit(`cannot reach ${values.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 1);
      }
      console.log(`message ${uuid}`);
      for (const [i, p] of parts.entries()) console.log(`part ${i + 1}: HTTP ${p.status} ${p.body}`);
      if (parts.some((p) => p.status >= 400)) process.exitCode = 1;
      return;
    }
    case "smsc": {
      const credentials = values["system-id"] ? { systemId: values["system-id"], password: values.password ?? "" } : undefined;
      const smsc = await listening(
        startSmsc({ port: port ?? 2775, credentials, receiptStat: values.receipt as ReceiptStat, receiptDelayMs: Number(values["receipt-delay"]) }),
        port ?? 2775,
      );
      console.log(`SMSC simulator: smpp://127.0.0.1:${smsc.port}${credentials ? "" : " (any system_id and password)"}`);
      smsc.on("submit", (record: SubmitRecord) => console.log(`submit_sm to ${record.pdu.destination_addr} ${JSON.stringify(submittedText(record.pdu))} -> id ${record.messageId}`));
      if (values["mo-every"]) {
        let n = 0;
        setInterval(() => {
          n++;
          const text = `MO number ${n} from the simulator`;
          smsc
            .sendMo({ from: values["mo-from"], to: values["mo-to"], text })
            .then((statuses) => console.log(`deliver_sm MO ${n} "${text}": deliver_sm_resp ${statuses.map(deliverRespName).join(", ")}`))
            .catch((err: Error) => console.log(`deliver_sm MO ${n}: ${err.message}`));
        }, Number(values["mo-every"]) * 1000);
      }
      onStop(() => smsc.close());
      return;
    }
    case "ucp": {
      onStop(await listening(runUcpCli(values, port), port ?? 2776));
      return;
    }
    case "rapporto": {
      const sim = new RapportoSim({ serviceId: values["service-id"], pass: values.pass, moUrl: values["mo-url"], dlrUrl: values["dlr-url"], dlrDelayMs: Number(values["dlr-delay"]) });
      await listening(sim.start(port ?? 8082), port ?? 8082);
      console.log(`Rapporto simulator: MT URL ${sim.mtUrl}  serviceId ${sim.options.serviceId}  pass ${sim.options.pass}`);
      onStop(() => sim.close());
      return;
    }
  }
}

function onStop(close: () => Promise<unknown>): void {
  const stop = () => void close().finally(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err.message);
  process.exit(err instanceof Exit ? err.code : 1);
});
