#!/usr/bin/env node
/**
 * rapidpro-sms-sim: the simulators as a command-line tool, to point at your own flows.
 *
 *   rapidpro-sms-sim courier  [--port 8081] [--channel <uuid>] [--legacy-ids]
 *   rapidpro-sms-sim send     --url http://127.0.0.1:1880/rapidpro/send --to +250788383383 --text "Hi"
 *                             [--auth "Token …"] [--method POST|GET|PUT] [--content-type urlencoded|json|xml|<header>]
 *                             [--body <template>] [--max-length 160] [--uuid <uuid>]
 *   rapidpro-sms-sim smsc     [--port 2775] [--system-id id --password pw] [--receipt DELIVRD] [--receipt-delay 1000]
 *                             [--mo-every <seconds> --mo-from +250788123123 --mo-to 2020]
 *   rapidpro-sms-sim ucp      [--port 2776] [--username u --password pw] [--notify delivered|failed|buffered|none]
 *                             [--notify-delay 1000] [--mo-every <seconds> --mo-from +250788123123 --mo-to 2020]
 *   rapidpro-sms-sim cimd2    [--port 9971] [--user u --password p] [--report 4|none] [--report-delay 1000]
 *                             [--mo-every <seconds>] (faults typed on stdin: drop, slow, error, noise, garbage, …)
 *   rapidpro-sms-sim rapporto [--port 8082] [--service-id id --pass pw] [--mo-url …] [--dlr-url …] [--dlr-delay 1000]
 *
 * Every server listens on 127.0.0.1 and prints what it sees; Ctrl-C stops it.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { sendMt, startCourier, DEFAULT_SEND_BODY } from "./courier";
import { startSmsc, type ReceiptStat } from "./smsc";
import { RapportoSim } from "./rapporto";
import { runUcpCli } from "./ucp";
import { runCimd2Cli } from "./cimd2";

const USAGE = `usage: rapidpro-sms-sim <courier|send|smsc|rapporto|ucp|cimd2> [options]  (see the README, "Simulators")`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // The CIMD2 simulator parses its own options (sim/cimd2.ts).
  if (command === "cimd2") return runCimd2Cli(rest, onStop);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      port: { type: "string" },
      channel: { type: "string", default: "8eb23e93-5ecb-45ba-b726-3b064e0c56ab" },
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
    },
  });
  const port = values.port === undefined ? undefined : Number(values.port);

  switch (command) {
    case "courier": {
      const courier = await startCourier({ port: port ?? 8081, channelUuid: values.channel!, legacyIds: values["legacy-ids"] });
      console.log(`courier simulator: ${courier.url}/c/ex/${values.channel}/{receive,sent,delivered,failed,stopped}`);
      let seen = 0;
      let refused = 0;
      setInterval(() => {
        for (; seen < courier.accepted.length; seen++) console.log(`accepted ${courier.accepted[seen].action}: ${JSON.stringify(courier.accepted[seen].params)}`);
        for (; refused < courier.refused.length; refused++) console.log(`refused ${courier.refused[refused].status} ${courier.refused[refused].path}: ${courier.refused[refused].error}`);
      }, 200);
      onStop(() => courier.close());
      return;
    }
    case "send": {
      if (!values.url || !values.to || !values.text) throw new Error("send needs --url, --to and --text");
      const parts = await sendMt(
        {
          sendUrl: values.url,
          method: values.method as "GET" | "POST" | "PUT",
          contentType: values["content-type"],
          body: values.body ?? DEFAULT_SEND_BODY,
          maxLength: Number(values["max-length"]),
          authorization: values.auth,
        },
        { uuid: values.uuid ?? randomUUID(), to: values.to, text: values.text },
      );
      for (const [i, p] of parts.entries()) console.log(`part ${i + 1}: HTTP ${p.status} ${p.body}`);
      return;
    }
    case "smsc": {
      const credentials = values["system-id"] ? { systemId: values["system-id"], password: values.password ?? "" } : undefined;
      const smsc = await startSmsc({
        port: port ?? 2775,
        credentials,
        receiptStat: values.receipt as ReceiptStat,
        receiptDelayMs: Number(values["receipt-delay"]),
      });
      console.log(`SMSC simulator: smpp://127.0.0.1:${smsc.port}${credentials ? "" : " (any system_id and password)"}`);
      smsc.on("submit", (record: { messageId: string; pdu: { destination_addr?: string } }) =>
        console.log(`submit_sm to ${record.pdu.destination_addr} -> id ${record.messageId}`),
      );
      if (values["mo-every"]) {
        let n = 0;
        setInterval(() => {
          n++;
          smsc
            .sendMo({ from: values["mo-from"]!, to: values["mo-to"]!, text: `MO number ${n} from the simulator` })
            .then((statuses) => console.log(`deliver_sm MO ${n}: deliver_sm_resp status ${statuses.join(",")}`))
            .catch((err: Error) => console.log(`deliver_sm MO ${n}: ${err.message}`));
        }, Number(values["mo-every"]) * 1000);
      }
      onStop(() => smsc.close());
      return;
    }
    case "ucp": {
      onStop(await runUcpCli(values, port));
      return;
    }
    case "rapporto": {
      const sim = new RapportoSim({
        serviceId: values["service-id"],
        pass: values.pass,
        moUrl: values["mo-url"],
        dlrUrl: values["dlr-url"],
        dlrDelayMs: Number(values["dlr-delay"]),
      });
      await sim.start(port ?? 8082);
      console.log(`Rapporto simulator: MT URL ${sim.mtUrl}`);
      onStop(() => sim.close());
      return;
    }
    default:
      throw new Error(USAGE);
  }
}

function onStop(close: () => Promise<unknown>): void {
  const stop = () => void close().finally(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err.message);
  process.exit(2);
});
