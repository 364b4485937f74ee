/**
 * The Node-RED editor, driven in headless Chromium, with the packed package installed into a
 * fresh user directory. It covers every node type of package.json `node-red.nodes` and every
 * flow in examples/, so new node types and examples are checked without touching this file:
 * - each non-config type is in the palette, can be dragged onto the canvas, and its dialog opens;
 * - each dialog marks a bad value as you type and clears the mark for a good one, and Done saves
 *   the good values (config types through the "add" button of a node that uses them);
 * - the help of each type has the Node-RED sections (summary, Inputs, Outputs, Details, References);
 * - Brazilian Portuguese and Russian editors show translated help and no untranslated keys;
 * - Import > Examples lists every example, and importing the bridge deploys it cleanly;
 * - the page logs no error.
 * Screenshots of the palette, a dialog and the imported bridge go to a folder the test prints.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { declaredNodeTypes, exampleEnv, exampleFlows, freePort, installTarball, nodeRed5, packPackage, startNodeRed, type NodeRed } from "../../sim/node-red";
import { startCourier, type CourierSim } from "../../sim/courier";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { startUcpSmsc, type UcpSim } from "../../sim/ucp";
import { browserUnavailable, launchBrowser, withoutEditorTips, type Browser, type Page } from "../helpers/browser";

// The editor's global; the functions passed to page.evaluate run in the page, where it exists.
// This project compiles without the DOM library, so the page's globals are declared loosely here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const MODULE = "node-red-contrib-rapidpro-sms";
const unavailable = browserUnavailable();
if (unavailable) console.log(`skipping the editor tests: ${unavailable}`);

/** Values typed into fields that must be refused; each field is tried until one is marked. */
const BAD_VALUES = ["", "not a value!", "-5", "0", "99999999", "http:/nope", "300.1.1.1/40", "ABC-XYZ"];
/** Values tried (after the field's value in an example flow and its default) until one is accepted. */
const GOOD_VALUES = ["8eb23e93-5ecb-45ba-b726-3b064e0c56ab", "https://rapidpro.example.org", "127.0.0.1", "/sms/path", "10", "1", "bridge", "10.0.0.0/8, 192.168.1.5"];

/**
 * Options that apply only with some setting: the field `row` is hidden while `control` has the
 * value `off`, and shown with `on`. Types not (yet) in package.json are left out.
 */
const SHOWN_ONLY_WITH: Array<{ type: string; control: string; off: string | boolean; on: string | boolean; row: string }> = [
  { type: "rapidpro-channel", control: "queue", off: false, on: true, row: "storeUrl" },
  { type: "rapidpro-out", control: "action", off: "status", on: "reply", row: "acceptedText" },
  { type: "smpp-bind", control: "tls", off: false, on: true, row: "tlsVerify" },
  { type: "cimd2-bind", control: "tls", off: false, on: true, row: "tlsVerify" },
  { type: "ucp-bind", control: "tls", off: false, on: true, row: "caFile" },
  { type: "rapporto-account", control: "profile", off: "v5", on: "custom", row: "p_destination" },
  { type: "rapporto-dlr", control: "poll", off: false, on: true, row: "pollUrl" },
];

/**
 * Fields that must refuse a bad value in the dialog as it opens (the list: required
 * fields, UUID, host and port, URL, CIDR lists, numbers in range). A type missing here still
 * has to refuse something; these pin the checks that matter, so losing one fails the test.
 */
const MUST_REFUSE: Record<string, string[]> = {
  "rapidpro-channel": ["baseUrl", "channelUuid", "maxPending", "giveUpAfter"],
  "rapidpro-in": ["path", "timeout"],
  "smpp-bind": ["host", "port"],
  "cimd2-bind": ["host", "port", "window", "responseTimeout"],
  "cimd2-out": ["maxParts", "validity"],
  "cimd2-in": ["ackTimeout", "unmatchedWait"],
  "ucp-bind": ["host", "port", "window", "receiveAllow"],
  "ucp-out": ["maxParts", "validity"],
  "rapporto-account": ["url", "serviceId", "rate", "allowedIps"],
  "rapporto-mo": ["path", "timeZone"],
  "rapporto-dlr": ["path", "maxTries"],
  "rapporto-mt": ["budget"],
};

interface FieldCheck {
  prop: string;
  bad?: string;
  good?: string;
}

/** The editor of Node-RED 4.1 (the devDependency, on this Node) and of Node-RED 5 (on Node 22). */
const RUNTIMES: Array<{ label: string; resolve(): { nodeBinary?: string; redJs?: string } | { skip: string } }> = [
  { label: "Node-RED 4.1", resolve: () => ({}) },
  { label: "Node-RED 5", resolve: () => nodeRed5() },
];

for (const runtime of RUNTIMES) {
  // Resolving Node-RED 5 installs it (once, cached); not worth doing when there is no browser.
  const resolved = unavailable ? { skip: unavailable } : runtime.resolve();
  const skip = "skip" in resolved ? resolved.skip : false;
  if (skip && !unavailable) console.log(`skipping the ${runtime.label} editor tests: ${skip}`);
  editorSuite(runtime.label, "skip" in resolved ? {} : resolved, skip);
}

function editorSuite(label: string, runtime: { nodeBinary?: string; redJs?: string }, skip: string | false): void {
  describe(`${label} editor`, { skip }, () => {
    let work: string;
    let red: NodeRed;
    let courier: CourierSim;
    let smsc: SmscSim;
    let ucp: UcpSim;
    let browser: Browser;
    let page: Page;
    let shots: string;
    const pageErrors: string[] = [];
    const englishHelp = new Map<string, string>();

    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-editor-"));
      const userDir = path.join(work, "user");
      installTarball(userDir, packPackage(work));
      withoutEditorTips(userDir);
      courier = await startCourier({ channelUuid: "8eb23e93-5ecb-45ba-b726-3b064e0c56ab" });
      smsc = await startSmsc({});
      ucp = await startUcpSmsc({});
      red = await startNodeRed({ userDir, port: await freePort(), env: exampleEnv({ courierUrl: courier.url, smscPort: smsc.port, ucpPort: ucp.port }), ...runtime });
      const base = process.env.EDITOR_SCREENSHOTS || path.join(os.tmpdir(), "rapidpro-sms-editor-screenshots");
      shots = path.join(base, label.replace(/\W+/g, "-"));
      fs.mkdirSync(shots, { recursive: true });
      console.log(`editor screenshots: ${shots}`);
      browser = await launchBrowser();
      page = await openEditor(browser, red, pageErrors);
    });

    after(async () => {
      await browser?.close();
      await red?.stop();
      await courier?.close();
      await smsc?.close();
      await ucp?.close();
      if (work) fs.rmSync(work, { recursive: true, force: true });
      if (shots) console.log(`editor screenshots: ${shots}`);
    });

    test("every node type is registered in the editor, and every non-config type is in the palette", async () => {
      for (const type of declaredNodeTypes()) {
        const category = await page.evaluate((t) => RED.nodes.getType(t)?.category as string | undefined, type);
        assert.ok(category, `${type} registered in the editor`);
        const entries = await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).count();
        assert.equal(entries, category === "config" ? 0 : 1, `${type} in the palette`);
      }
      // One palette category for the whole package, as the README tells users where to look.
      const paletteCategories = [...new Set(Object.values(await categories(page)).filter((c) => c !== "config"))];
      assert.equal(paletteCategories.length, 1, `one palette category: ${paletteCategories.join(", ")}`);
      const ours = page.locator(`.red-ui-palette-category:has(.red-ui-palette-node[data-palette-type="${nonConfigTypes(await categories(page))[0]}"])`);
      await ours.screenshot({ path: path.join(shots, "palette.png") });
    });

    test("Import > Examples lists every example, and importing the bridge deploys it", async () => {
      await page.evaluate(() => RED.actions.invoke("core:show-examples-import-dialog"));
      const tab = page.locator("#red-ui-clipboard-dialog-import-tab-examples");
      await tab.locator(".red-ui-treeList-label-text", { hasText: MODULE }).click();
      const examples = exampleFlows();
      // The module's folder opens after a request for its listing.
      await tab.locator(".red-ui-treeList-label-text", { hasText: exactly(examples[0].name) }).waitFor();
      const listed = await tab.locator(".red-ui-treeList-label-text").allTextContents();
      for (const example of examples) assert.ok(listed.includes(example.name), `${example.name} listed in ${listed.join(", ")}`);

      // The bridge: the example that crosses to an aggregator; the only example until those exist.
      const bridge = examples.find((e) => /bridge/.test(e.name)) ?? examples[0];
      await tab.locator(".red-ui-treeList-label-text", { hasText: exactly(bridge.name) }).click();
      await page.locator("#red-ui-clipboard-dialog-ok").click();
      await page.locator("#red-ui-clipboard-dialog").waitFor({ state: "hidden" });
      const tabId = bridge.flow.find((n) => n.type === "tab")?.id;
      if (tabId) await page.evaluate((id) => RED.workspaces.show(id), tabId);
      else await page.mouse.click(600, 400); // a flow without a tab follows the mouse until dropped
      // The editor fetches the example when it is picked, so the nodes arrive a moment later.
      const wanted = [...new Set(bridge.flow.filter((n) => n.z).map((n) => n.type as string))];
      await page
        .waitForFunction(
          (types) =>
            types.every((t) => {
              let found = false;
              RED.nodes.eachNode((n: { type: string }) => {
                found = found || n.type === t;
              });
              return found;
            }),
          wanted,
          { timeout: 10_000 },
        )
        .catch(() => undefined);
      const imported = await page.evaluate(() => {
        const types: string[] = [];
        RED.nodes.eachNode((n: { type: string }) => types.push(n.type));
        return types;
      });
      for (const type of wanted) assert.ok(imported.includes(type), `${type} imported`);

      const from = red.log().length;
      await page.locator("#red-ui-header-button-deploy").click();
      await page.locator(".red-ui-notification", { hasText: /deployed/i }).first().waitFor({ timeout: 15_000 });
      await page.waitForTimeout(1500); // config nodes connect right after the flows start
      // The notifications fade out by themselves; the screenshot should show the flow and its node statuses.
      await page.locator(".red-ui-notification").first().waitFor({ state: "detached", timeout: 15_000 }).catch(() => undefined);
      await page.screenshot({ path: path.join(shots, "imported-bridge.png") });
      const logged = red.log().slice(from);
      assert.deepEqual(logged.split("\n").filter((l) => /\[(error|warn)\]/.test(l)), [], logged);
      const deployed = await red.admin<{ flows: Array<{ id: string }> }>("/flows");
      const ids = new Set(deployed.flows.map((n) => n.id));
      assert.equal(bridge.flow.filter((n) => !ids.has(n.id as string)).length, 0, "every node of the example deployed");
      // A fresh tab for the dialog tests, so that their nodes do not mix with the example.
      await page.evaluate(() => RED.workspaces.add());
    });

    test("each dialog refuses bad values as you type, accepts good ones and saves them", async (t) => {
      const types = await categories(page);
      const configTested = new Set<string>();
      let screenshotTaken = false;
      for (const type of nonConfigTypes(types)) {
        await t.test(type, async () => {
          const id = await dropOnCanvas(page, type);
          await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).dblclick();
          await page.locator("form#dialog-form").waitFor({ state: "visible" });
          let refused = 0;

          // Config nodes this type needs: "no config" is refused; a new one is made with the add
          // button, and its own dialog is checked the first time its type comes up.
          const configProps = await page.evaluate((t) => {
            const defaults = RED.nodes.getType(t).defaults as Record<string, { type?: string; required?: boolean }>;
            return Object.entries(defaults).filter(([, d]) => d.type).map(([prop, d]) => ({ prop, type: d.type!, required: !!d.required }));
          }, type);
          for (const config of configProps) {
            const select = page.locator(`#node-input-${config.prop}`);
            if (config.required) {
              await select.selectOption("_ADD_");
              assert.match((await select.getAttribute("class")) ?? "", /input-error/, `${type}.${config.prop}: no ${config.type} is refused`);
              refused++;
            }
            if (!configTested.has(config.type)) {
              await page.locator(`#node-input-btn-${config.prop}-add, #node-input-lookup-${config.prop}`).first().click();
              await page.locator("form#node-config-dialog-edit-form").waitFor({ state: "visible" });
              const checks = await checkFields(page, config.type, "node-config-input-");
              await checkShownOnlyWith(page, config.type, "node-config-input-");
              assert.ok(checks.some((c) => c.bad !== undefined), `${config.type}: some field refuses a bad value (${JSON.stringify(checks)})`);
              assertRefused(config.type, checks);
              await page.locator("#node-config-dialog-ok").click();
              await page.locator("form#node-config-dialog-edit-form").waitFor({ state: "detached" });
              const configId = await page.evaluate((p) => document.querySelector(`#node-input-${p}`).value as string, config.prop);
              const saved = await page.evaluate((cid) => ({ ...RED.nodes.node(cid) }), configId);
              for (const c of checks.filter((c) => c.good !== undefined)) assert.equal(String(saved[c.prop]), c.good, `${config.type}.${c.prop} saved`);
              configTested.add(config.type);
            } else {
              const existing = await page.evaluate((ct) => {
                let found = "";
                RED.nodes.eachConfig((n: { id: string; type: string }) => {
                  if (n.type === ct && !found) found = n.id;
                });
                return found;
              }, config.type);
              await select.selectOption(existing);
            }
            assert.doesNotMatch((await select.getAttribute("class")) ?? "", /input-error/, `${type}.${config.prop}: a ${config.type} is accepted`);
          }

          await checkShownOnlyWith(page, type, "node-input-");
          const checks = await checkFields(page, type, "node-input-");
          refused += checks.filter((c) => c.bad !== undefined).length;
          assertRefused(type, checks);
          assert.ok(refused > 0, `${type}: the dialog refuses some bad value (${JSON.stringify(checks)})`);
          await assertNoRawKeys(page, "form#dialog-form");
          if (!screenshotTaken) {
            await page.locator(".red-ui-tray").first().screenshot({ path: path.join(shots, `dialog-${type}.png`) });
            screenshotTaken = true;
          }
          await page.locator("#node-dialog-ok").click();
          await page.locator("form#dialog-form").waitFor({ state: "detached" });
          const saved = await page.evaluate((nid) => ({ ...RED.nodes.node(nid), _def: undefined, _: undefined }), id);
          for (const c of checks.filter((c) => c.good !== undefined)) assert.equal(String(saved[c.prop]), c.good, `${type}.${c.prop} saved`);
          assert.equal(saved.valid, true, `${type} is valid once saved`);
        });
      }
      const unused = Object.entries(types).filter(([t, c]) => c === "config" && !configTested.has(t));
      assert.deepEqual(unused, [], "every config type was edited through a node that uses it");
    });

    test("help follows the Node-RED style for every node type", async (t) => {
      const types = await categories(page);
      for (const type of Object.keys(types)) {
        await t.test(type, async () => {
          const help = await readHelp(page, type);
          englishHelp.set(type, help.text);
          assert.ok(help.summary.length > 20, `${type}: a one-line summary first (${help.summary})`);
          const ports = await page.evaluate((t) => ({ inputs: RED.nodes.getType(t).inputs ?? 0, outputs: RED.nodes.getType(t).outputs ?? 0 }), type);
          const expected = [...(ports.inputs > 0 ? ["Inputs"] : []), ...(ports.outputs > 0 ? ["Outputs"] : []), "Details", "References"];
          assert.deepEqual(help.headings.filter((h) => ["Inputs", "Outputs", "Details", "References"].includes(h)), expected, `${type} sections`);
          if (ports.outputs > 1) assert.equal(help.outputPorts, ports.outputs, `${type}: one entry per output port`);
        });
      }
    });

    for (const locale of [
      { code: "pt-BR", words: /[ãçéêóõú]|\b(de|para|o|a)\b/i },
      { code: "ru", words: /[а-яё]/i },
    ]) {
      test(`the ${locale.code} editor shows translated help, labels and no raw keys`, async (t) => {
        const localized = await launchBrowser({ locale: locale.code });
        try {
          const lpage = await openEditor(localized, red, pageErrors);
          const types = await categories(lpage);
          for (const type of Object.keys(types)) {
            await t.test(type, async () => {
              const help = await readHelp(lpage, type);
              assert.notEqual(help.text, englishHelp.get(type), `${type}: help in ${locale.code}`);
              assert.match(help.text, locale.words);
              // Every label key of the dialog has its own text in this language. i18next falls back
              // to en-US for a missing key, so compare with the English text; names and acronyms
              // ("JSON", "SMPP", "s") may stay as they are.
              const missing = await lpage.evaluate((t) => {
                const template = document.querySelector(`script[data-template-name="${t}"]`)?.innerHTML ?? "";
                const keys = [...(template as string).matchAll(/data-i18n="(?:\[[^\]]*\])?([^"]+)"/g)].map((m) => m[1]).filter((k) => !k.includes(":"));
                const ns = RED.nodes.getType(t).set.id as string;
                return keys.filter((k) => {
                  const here = RED._(`${ns}:${k}`) as string;
                  const english = RED._(`${ns}:${k}`, { lng: "en-US" }) as string;
                  return here === `${ns}:${k}` || (here === english && !/^([A-Z0-9 ./_-]*|.{0,3})$/.test(english));
                });
              }, type);
              assert.deepEqual(missing, [], `${type}: untranslated label keys`);
            });
          }
        } finally {
          await localized.close();
        }
      });
    }

    test("the editor logged no page error", async () => {
      assert.equal(await page.evaluate(() => RED.settings.get("editor.view.view-show-tips")), false, "the info tips are still on (withoutEditorTips)");
      assert.deepEqual(pageErrors, []);
    });
  });
}

/** Opens the editor and waits until the palette holds our nodes; records page errors. */
async function openEditor(browser: Browser, red: NodeRed, errors: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (err) => errors.push(`${err.message}\n${err.stack ?? ""}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  await page.goto(red.url, { waitUntil: "load" });
  // The editor loads the node definitions after the page; wait for all of ours, then the palette.
  await page.waitForFunction((types) => types.every((t) => typeof RED !== "undefined" && RED.nodes?.getType?.(t)), declaredNodeTypes(), { timeout: 30_000 });
  for (const type of nonConfigTypes(await categories(page))) await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).waitFor({ state: "attached" });
  return page;
}

/** Matches a label whose whole text is `text` (example names may hold regex characters). */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

/** Every declared type with its editor category ("config" for config nodes). */
async function categories(page: Page): Promise<Record<string, string>> {
  return page.evaluate((types) => Object.fromEntries(types.map((t) => [t, RED.nodes.getType(t)?.category as string])), declaredNodeTypes());
}

function nonConfigTypes(types: Record<string, string>): string[] {
  return Object.entries(types)
    .filter(([, category]) => category !== "config")
    .map(([type]) => type);
}

/** Drags a type from the palette onto the canvas, as a user does; returns the new node's id. */
async function dropOnCanvas(page: Page, type: string): Promise<string> {
  const before = await nodeIds(page);
  const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await page.evaluate((t) => document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"]`)?.scrollIntoView(), type);
  // Columns of six, so that every drop lands inside the visible canvas.
  const here = await page.evaluate(() => RED.nodes.filterNodes({ z: RED.workspaces.active() }).length as number);
  const position = { x: 200 + Math.floor(here / 6) * 220, y: 80 + (here % 6) * 70 };
  await entry.dragTo(page.locator("#red-ui-workspace-chart"), { targetPosition: position });
  const added = (await nodeIds(page)).filter((id) => !before.includes(id));
  assert.equal(added.length, 1, `${type} dropped on the canvas`);
  return added[0];
}

async function nodeIds(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const ids: string[] = [];
    RED.nodes.eachNode((n: { id: string }) => ids.push(n.id));
    return ids;
  });
}

/**
 * For every visible text or number field of the open dialog whose property has a validator or is
 * required: types bad values until the editor marks the field, then good values until it clears.
 */
async function checkFields(page: Page, type: string, prefix: string): Promise<FieldCheck[]> {
  const fields = await page.evaluate(
    ({ t, prefix }) => {
      const defaults = RED.nodes.getType(t).defaults as Record<string, { value: unknown; type?: string; required?: boolean; validate?: unknown }>;
      return Object.entries(defaults)
        .filter(([, d]) => !d.type && (d.required || d.validate))
        .filter(([prop]) => {
          const el = document.getElementById(prefix + prop);
          return !!el && el.tagName === "INPUT" && ["text", "number"].includes(el.type) && el.offsetParent !== null;
        })
        .map(([prop, d]) => ({ prop, value: d.value === undefined || d.value === null ? "" : String(d.value) }));
    },
    { t: type, prefix },
  );
  const checks: FieldCheck[] = [];
  for (const field of fields) {
    const input = page.locator(`#${prefix}${field.prop}`);
    const check: FieldCheck = { prop: field.prop };
    for (const bad of BAD_VALUES) {
      if (await typeAndCheck(page, input, bad)) continue;
      check.bad = bad;
      break;
    }
    const candidates = [...exampleValues(type, field.prop), field.value, ...GOOD_VALUES];
    for (const good of candidates) {
      if (!(await typeAndCheck(page, input, good))) continue;
      // A number field reads back as the number typed; compare what the editor will save.
      check.good = good;
      break;
    }
    assert.ok(check.good !== undefined, `${type}.${field.prop}: no accepted value among ${candidates.join(" | ")}`);
    checks.push(check);
  }
  return checks;
}

function assertRefused(type: string, checks: FieldCheck[]): void {
  const refused = checks.filter((c) => c.bad !== undefined).map((c) => c.prop);
  for (const prop of MUST_REFUSE[type] ?? []) assert.ok(refused.includes(prop), `${type}.${prop} refuses a bad value (refused: ${refused.join(", ")})`);
}

/** Options that do not apply are hidden, and shown again when they do; the control is then restored. */
async function checkShownOnlyWith(page: Page, type: string, prefix: string): Promise<void> {
  for (const rule of SHOWN_ONLY_WITH.filter((r) => r.type === type)) {
    const control = page.locator(`#${prefix}${rule.control}`);
    const row = page.locator(`#${prefix}${rule.row}`);
    const original = await control.evaluate((el) => (el.type === "checkbox" ? (el.checked as boolean) : (el.value as string)));
    const set = async (value: string | boolean) => {
      if (typeof value === "boolean") {
        if ((await control.evaluate((el) => el.checked as boolean)) !== value) await control.click();
      } else await control.selectOption(value);
    };
    await set(rule.off);
    assert.equal(await row.isVisible(), false, `${type}: ${rule.row} hidden while ${rule.control} is ${rule.off}`);
    await set(rule.on);
    assert.equal(await row.isVisible(), true, `${type}: ${rule.row} shown when ${rule.control} is ${rule.on}`);
    await set(original);
  }
}

/**
 * Puts the value in the field and ends with a keystroke (the editor validates on keyup, as the
 * user types; pasting the value first keeps this fast), then tells whether the editor accepts it.
 */
async function typeAndCheck(page: Page, input: ReturnType<Page["locator"]>, value: string): Promise<boolean> {
  try {
    await input.fill(value);
  } catch {
    return false; // a number field takes no letters: nothing to judge
  }
  await input.press(value ? "End" : "Backspace");
  const typed = await input.evaluate((el) => el.value as string);
  if (typed !== value) return false; // a number field does not take letters: nothing to judge
  return !/input-error/.test((await input.getAttribute("class")) ?? "");
}

/** The values a property has in the example flows, most common first. */
function exampleValues(type: string, prop: string): string[] {
  const values = exampleFlows()
    .flatMap((e) => e.flow)
    .filter((n) => n.type === type && n[prop] !== undefined && n[prop] !== "")
    .map((n) => String(n[prop]));
  return [...new Set(values)];
}

async function readHelp(page: Page, type: string): Promise<{ text: string; summary: string; headings: string[]; outputPorts: number }> {
  await page.evaluate((t) => RED.sidebar.help.show(t), type);
  // The help tab shows the type's palette label as its title, then the help text below it.
  await page.waitForFunction(
    (t) => {
      const def = RED.nodes.getType(t);
      const label = typeof def.paletteLabel === "function" ? def.paletteLabel.call(def) : def.paletteLabel || t;
      return document.querySelector("h1.red-ui-help-title")?.textContent?.trim() === label && document.querySelector("h1.red-ui-help-title + .red-ui-help p");
    },
    type,
  );
  return page.evaluate(() => {
    const help = document.querySelector("h1.red-ui-help-title + .red-ui-help");
    const firstP = help.querySelector("p");
    const outputs = [...help.querySelectorAll("h3")].find((h) => /Outputs|Saídas|Выходы/.test(h.textContent ?? ""));
    let ports = 0;
    for (let el = outputs?.nextElementSibling; el && el.tagName !== "H3"; el = el.nextElementSibling) {
      if (el.matches("ol.node-ports")) ports = el.querySelectorAll(":scope > li").length;
    }
    return {
      text: help.innerText,
      summary: firstP?.textContent?.trim() ?? "",
      headings: [...help.querySelectorAll("h3")].map((h) => h.textContent?.trim() ?? ""),
      outputPorts: ports,
    };
  });
}

/** A label that shows its catalogue key (e.g. `rapidpro-in.label.path`) was not translated. */
async function assertNoRawKeys(page: Page, selector: string): Promise<void> {
  const raw = await page.evaluate((sel) => {
    const texts = [...document.querySelectorAll(`${sel} label, ${sel} span, ${sel} option`)].map((e) => e.textContent?.trim() ?? "");
    return texts.filter((t) => /^[\w-]+(\.[\w-]+){2,}$/.test(t));
  }, selector);
  assert.deepEqual(raw, [], "labels showing catalogue keys");
}
