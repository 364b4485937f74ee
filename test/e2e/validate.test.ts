/**
 * The Flow Library's scorecard: `node-red-dev validate` (0.1.6, what flows.nodered.org runs) on
 * the unpacked `npm pack` tarball. node-red-dev is installed at run time into a cached folder,
 * and a preload answers its catalogue.nodered.org request with an empty catalogue, because this
 * machine reaches only the npm registry (without it the run aborts with ENOTFOUND).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cachedTools, declaredNodeTypes, packPackage } from "../../sim/node-red";

/**
 * Warnings the package cannot fix by itself. P04: the name `node-red-contrib-rapidpro-sms` is
 * fixed by the project (flows and docs use it); node-red-dev still passes the check (`test: true`).
 */
const ACCEPTED_WARNINGS = [/^P04 New Packages should use a scoped name/];

const tools = cachedTools("node-red-dev", ["node-red-dev@0.1.6"]);
let work: string;
let scorecard: Record<string, { test: boolean; [k: string]: unknown }>;
let printed: string;

before(() => {
  if ("skip" in tools) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-validate-"));
  const tarball = packPackage(work);
  execFileSync("tar", ["xzf", tarball, "-C", work]);
  const devDir = path.join(tools.dir, "node_modules", "node-red-dev");
  const stub = path.join(work, "stub-catalogue.js");
  // node-red-dev's own axios (0.21) must be the one patched, so resolve it from there.
  fs.writeFileSync(
    stub,
    [
      `const axios = require(require.resolve("axios", { paths: [${JSON.stringify(devDir)}] }));`,
      "const get = axios.get.bind(axios);",
      "axios.get = (url, ...rest) => /catalogue\\.nodered\\.org/.test(url) ? Promise.resolve({ data: { modules: [] } }) : get(url, ...rest);",
    ].join("\n"),
  );
  const out = path.join(work, "scorecard.json");
  // Warnings go to stderr, the ✅ lines to stdout: keep both.
  const run = spawnSync(process.execPath, ["-r", stub, path.join(devDir, "bin", "run"), "validate", "-p", path.join(work, "package"), "-o", out], {
    encoding: "utf8",
    timeout: 120_000,
  });
  printed = `${run.stdout}\n${run.stderr}`;
  if (!fs.existsSync(out)) throw new Error(`node-red-dev wrote no scorecard (exit ${run.status}):\n${printed}`);
  scorecard = JSON.parse(fs.readFileSync(out, "utf8"));
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const skip = "skip" in tools ? tools.skip : false;
if (skip) console.log(`skipping node-red-dev validate: ${skip}`);

test("node-red-dev validate: every check passes", { skip }, () => {
  const failed = Object.entries(scorecard)
    .filter(([id, result]) => id !== "package" && result.test !== true)
    .map(([id, result]) => `${id} ${JSON.stringify(result)}`);
  assert.deepEqual(failed, [], `node-red-dev output:\n${printed}`);
  // Every rule ran: a rule missing from the scorecard would pass silently above.
  for (const id of ["P01", "P03", "P04", "P05", "P06", "P07", "P08", "N01", "N02", "D01", "D02", "D03"]) assert.ok(id in scorecard, `${id} in the scorecard`);
});

test("node-red-dev validate: no warning the package can fix", { skip }, () => {
  const unexpected = warningsIn(printed).filter((text) => !ACCEPTED_WARNINGS.some((pattern) => pattern.test(text)));
  assert.deepEqual(unexpected, [], `node-red-dev output:\n${printed}`);
});

test("node-red-dev parsed every node's editor file (so its type and example checks are not vacuous)", { skip }, () => {
  // N02 lists the non-config types it found by parsing each <type>.html's registerType call;
  // an .html it cannot parse contributes nothing and N02 would pass without checking anything.
  const configTypes = declaredNodeTypes().filter((type) => isConfigType(path.join(work, "package"), type));
  const expected = declaredNodeTypes().filter((type) => !configTypes.includes(type)).sort();
  assert.deepEqual(((scorecard.N02.nodes as string[]) ?? []).slice().sort(), expected);
});

/** oclif prints " ›   Warning: text" and wraps long texts onto further " ›   " lines. */
function warningsIn(output: string): string[] {
  const warnings: string[] = [];
  for (const line of output.split("\n")) {
    const warning = /^\s*›\s+Warning:\s*(.*)$/.exec(line);
    const continued = /^\s*›\s+(.*)$/.exec(line);
    if (warning) warnings.push(warning[1].trim());
    else if (continued && warnings.length > 0) warnings[warnings.length - 1] += ` ${continued[1].trim()}`;
  }
  return warnings;
}

function isConfigType(packageDir: string, type: string): boolean {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } };
  const html = fs.readFileSync(path.join(packageDir, pkg["node-red"].nodes[type].replace(/\.js$/, ".html")), "utf8");
  return /category:\s*['"]config['"]/.test(html);
}
