/**
 * The "SMS bridge" sidebar tab in the Node-RED editor (4.1 and 5), in headless Chromium, with
 * the SMPP bridge example deployed between the courier and SMSC simulators: the tab lists the
 * bind and the channel with their state, the counters move while MT flow, the trace finds a
 * long MT by its RapidPro id and shows its steps, and the page logs no error. Screenshots go to
 * $SIDEBAR_SCREENSHOTS (or a temp folder the test prints); README's images are these.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, nodeRed5, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "../../sim/courier";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { browserUnavailable, launchBrowser, withoutEditorTips, type Browser, type Page } from "../helpers/browser";
import { AUTH, CHANNEL, mtUuid, smppBridgeEnv } from "../helpers/bridge-ledger";

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "rapidpro-smpp-bridge.json");
const LONG_TEXT = "A long message, to be found in the trace. ".repeat(9); // 3 parts
const unavailable = browserUnavailable();
if (unavailable) console.log(`skipping the sidebar tests: ${unavailable}`);

const RUNTIMES: Array<{ label: string; resolve(): { nodeBinary?: string; redJs?: string } | { skip: string } }> = [
  { label: "Node-RED 4.1", resolve: () => ({}) },
  { label: "Node-RED 5", resolve: () => nodeRed5() },
];

for (const [index, runtime] of RUNTIMES.entries()) {
  const resolved = unavailable ? { skip: unavailable } : runtime.resolve();
  const skip = "skip" in resolved ? resolved.skip : false;
  if (skip && !unavailable) console.log(`skipping the ${runtime.label} sidebar tests: ${skip}`);
  sidebarSuite(runtime.label, index, "skip" in resolved ? {} : resolved, skip);
}

function sidebarSuite(label: string, run: number, runtime: { nodeBinary?: string; redJs?: string }, skip: string | false): void {
  describe(`${label} sidebar`, { skip }, () => {
    let work: string;
    let red: NodeRed;
    let courier: CourierSim;
    let smsc: SmscSim;
    let browser: Browser;
    let page: Page;
    let shots: string;
    const pageErrors: string[] = [];
    let sent = 0;
    const send = (text: string) => {
      const uuid = mtUuid(180 + run, sent++);
      return sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL, maxLength: 1600 }, { uuid, to: "+250788383383", text }).then(
        (parts) => ({ uuid, status: parts[parts.length - 1].status }),
      );
    };

    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-sidebar-"));
      courier = await startCourier({ channelUuid: CHANNEL });
      smsc = await startSmsc({ port: 0, receiptDelayMs: 100 });
      const env = smppBridgeEnv({ courierUrl: courier.url, smscPort: smsc.port, auth: AUTH, storeUrl: "" });
      const flows = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as unknown[];
      withoutEditorTips(path.join(work, "user"));
      red = await startNodeRed({ userDir: path.join(work, "user"), port: await freePort(), env, flows, loadFromWorkingTree: true, ...runtime });
      const base = process.env.SIDEBAR_SCREENSHOTS || path.join(os.tmpdir(), "rapidpro-sms-sidebar-screenshots");
      shots = path.join(base, label.replace(/\W+/g, "-"));
      fs.mkdirSync(shots, { recursive: true });
      browser = await launchBrowser();
      page = await browser.context.newPage();
      page.on("pageerror", (err) => pageErrors.push(`${err.message}\n${err.stack ?? ""}`));
      page.on("console", (message) => {
        if (message.type() === "error") pageErrors.push(`console: ${message.text()} (${message.location().url})`);
      });
      await page.goto(red.url, { waitUntil: "load" });
      // The editor adds plugins' tabs after its sidebar exists; before that, containsTab throws.
      await page.waitForFunction(
        () => {
          try {
            return typeof RED !== "undefined" && RED.sidebar.containsTab("rapidpro-sms-monitor") && RED.nodes.getType("smpp-bind");
          } catch {
            return false;
          }
        },
        undefined,
        { timeout: 30_000 },
      );
    });

    after(async () => {
      await browser?.close();
      await red?.stop();
      await smsc?.close();
      await courier?.close();
      if (work) fs.rmSync(work, { recursive: true, force: true });
      if (shots) console.log(`sidebar screenshots: ${shots}`);
    });

    test("the tab lists the bind and the channel, up, with counters that move while MT flow", async () => {
      // The editor shows its first tab again once the flows have loaded, which may come after
      // our show(); so the tab is shown again until the bind appears.
      await page.waitForFunction(
        () => {
          RED.sidebar.show("rapidpro-sms-monitor");
          return document.querySelector('.rapidpro-sms-card[data-kind="smpp"] .rapidpro-sms-state[data-state="up"]');
        },
        undefined,
        { timeout: 20_000, polling: 500 },
      );
      const bind = page.locator('.rapidpro-sms-card[data-kind="smpp"]');
      const channel = page.locator('.rapidpro-sms-card[data-kind="rapidpro"]');
      await channel.locator('.rapidpro-sms-state[data-state="up"]').waitFor({ timeout: 15_000 });
      assert.equal(await page.locator(".rapidpro-sms-card").count(), 2, "one bind and one channel");
      assert.equal((await bind.locator(".rapidpro-sms-name").textContent())?.trim(), "SMSC");

      const received = async () => Number(await bind.locator(".rapidpro-sms-mt-received .rapidpro-sms-stat-value").textContent());
      const before = await received();
      // A bounded load in the background: 40 MT, four at a time.
      const load = (async () => {
        for (let i = 0; i < 10; i++) await Promise.all([send(`load ${i}a`), send(`load ${i}b`), send(`load ${i}c`), send(`load ${i}d`)]);
      })();
      await page.waitForFunction((n) => Number(document.querySelector('.rapidpro-sms-card[data-kind="smpp"] .rapidpro-sms-mt-received .rapidpro-sms-stat-value')?.textContent) > n, before, { timeout: 15_000 });
      const during = await received();
      await load;
      await courier.waitForAccepted(40, 20_000);
      await page.waitForFunction(() => Number(document.querySelector('.rapidpro-sms-card[data-kind="smpp"] .rapidpro-sms-mt-received .rapidpro-sms-stat-value')?.textContent) >= 40, undefined, { timeout: 10_000 });
      assert.ok(during > before, `${during} > ${before}`);
      // The courier calls (statuses) are counted once courier answered: the next refresh shows them.
      await page.waitForFunction(
        () => Number(document.querySelector('.rapidpro-sms-card[data-kind="rapidpro"] .rapidpro-sms-calls .rapidpro-sms-stat-value')?.textContent?.split(" ")[0]) >= 40,
        undefined,
        { timeout: 10_000 },
      );
      const calls = await channel.locator(".rapidpro-sms-calls .rapidpro-sms-stat-value").textContent();
      assert.match(calls ?? "", /^\d+ \/ 0$/, "calls to courier, none failed");
      await page.locator(".rapidpro-sms-monitor").screenshot({ path: path.join(shots, "sidebar-live.png") });
    });

    test("the trace finds a long MT by its RapidPro id and shows its steps", async () => {
      const { uuid, status } = await send(LONG_TEXT);
      assert.equal(status, 200);
      await courier.waitForAccepted(41, 20_000);
      await page.locator(".rapidpro-sms-trace-by").selectOption("id");
      await page.locator(".rapidpro-sms-trace-input").fill(uuid);
      await page.locator(".rapidpro-sms-trace-find").click();
      await page.locator('.rapidpro-sms-step[data-step="courier-call"]').first().waitFor({ timeout: 10_000 });
      const list: string[] = await page.evaluate(() => [...document.querySelectorAll(".rapidpro-sms-step")].map((e: { getAttribute(n: string): string }) => e.getAttribute("data-step")));
      assert.equal(list[0], "courier-request");
      assert.equal(list.filter((s) => s === "submit").length, 3, list.join(", "));
      for (const step of ["courier-answer", "receipt", "status", "courier-call"]) assert.ok(list.includes(step), `${step} in ${list.join(", ")}`);
      const text = await page.locator(".rapidpro-sms-steps").innerText();
      assert.match(text, /\+250•••••••83/, "the number masked");
      assert.doesNotMatch(text, /250788383383/);
      await page.locator(".rapidpro-sms-trace").screenshot({ path: path.join(shots, "sidebar-trace.png") });
    });

    test("the page logged no error", () => {
      assert.deepEqual(pageErrors, []);
    });
  });
}

// The page's document, for the functions run in it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
