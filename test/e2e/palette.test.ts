/**
 * The package as users get it: `npm pack`, then `npm install <tarball>` into a fresh user
 * directory of Node-RED 4.1 (on this Node) and of Node-RED 5 (on Node 22 from npm). Through the
 * Admin API: every node type of package.json `node-red.nodes` is registered without error, the
 * examples are offered in Import > Examples, and every example flow deploys without an error.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  declaredNodeTypes,
  exampleEnv,
  exampleFlows,
  freePort,
  installTarball,
  nodeRed5,
  packPackage,
  startNodeRed,
  type NodeRed,
} from "../../sim/node-red";
import { startCourier, type CourierSim } from "../../sim/courier";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { startUcpSmsc, type UcpSim } from "../../sim/ucp";

const MODULE = "node-red-contrib-rapidpro-sms";

interface Runtime {
  label: string;
  /** Node binary and red.js, or why this runtime cannot run here. */
  resolve(): { nodeBinary?: string; redJs?: string } | { skip: string };
}

const RUNTIMES: Runtime[] = [
  // The devDependency (4.1.x) on the Node running the tests (20 in CI).
  { label: "Node-RED 4.1 on this Node", resolve: () => ({}) },
  { label: "Node-RED 5 on Node 22", resolve: () => nodeRed5() },
];

describe("packed package installed into a fresh Node-RED", () => {
  let work: string;
  let tarball: string;
  let courier: CourierSim;
  let smsc: SmscSim;
  let ucp: UcpSim;
  let env: Record<string, string>;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-palette-"));
    tarball = packPackage(work);
    // The examples read their endpoints from the environment; point them at simulators so that
    // a deployed example connects, and an error in the log means a real problem.
    courier = await startCourier({ channelUuid: "8eb23e93-5ecb-45ba-b726-3b064e0c56ab" });
    smsc = await startSmsc({});
    ucp = await startUcpSmsc({});
    env = exampleEnv({ courierUrl: courier.url, smscPort: smsc.port, ucpPort: ucp.port });
  });

  after(async () => {
    await courier?.close();
    await smsc?.close();
    await ucp?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const runtime of RUNTIMES) {
    test(runtime.label, async (t: TestContext) => {
      const resolved = runtime.resolve();
      if ("skip" in resolved) {
        console.log(`skipping ${runtime.label}: ${resolved.skip}`);
        t.skip(resolved.skip);
        return;
      }
      const userDir = path.join(work, runtime.label.replace(/\W+/g, "-"));
      installTarball(userDir, tarball);
      const red = await startNodeRed({ userDir, port: await freePort(), env, ...resolved });
      try {
        await checkRegistered(t, red);
        await checkExamplesListed(t, red);
        for (const example of exampleFlows()) {
          await t.test(`example "${example.name}" deploys without errors`, () => deployCleanly(red, example.flow));
        }
      } finally {
        await red.stop();
      }
    });
  }
});

async function checkRegistered(t: TestContext, red: NodeRed): Promise<void> {
  await t.test("every node type in package.json is registered, without error", async () => {
    const sets = await red.admin<Array<{ module: string; types: string[]; enabled: boolean; err?: string | null }>>("/nodes");
    const ours = sets.filter((s) => s.module === MODULE);
    assert.deepEqual(ours.filter((s) => s.err).map((s) => `${s.types.join(",")}: ${s.err}`), []);
    const types = ours.flatMap((s) => s.types).sort();
    assert.deepEqual(types, declaredNodeTypes().sort());
    assert.ok(ours.every((s) => s.enabled));
  });
}

async function checkExamplesListed(t: TestContext, red: NodeRed): Promise<void> {
  await t.test("Import > Examples lists every example flow", async () => {
    const listing = await red.admin<Array<{ fn?: string }>>(`/library/examples/flows/${MODULE}`);
    const names = listing.map((entry) => entry.fn).sort();
    assert.deepEqual(names, exampleFlows().map((e) => e.name));
  });
}

/** Deploys a flow (full) and fails on any error or warning Node-RED logs in the next moments. */
async function deployCleanly(red: NodeRed, flow: Array<Record<string, unknown>>): Promise<void> {
  const from = red.log().length;
  await red.deploy(flow);
  // Config nodes connect and endpoints open right after "Started flows"; give them a moment.
  await new Promise((r) => setTimeout(r, 1500));
  const logged = red.log().slice(from);
  const problems = logged.split("\n").filter((line) => /\[(error|warn)\]/.test(line) || /missing types|unknown type/i.test(line));
  assert.deepEqual(problems, [], `Node-RED log after deploy:\n${logged}`);
  const deployed = await red.admin<{ flows: Array<{ id: string }> }>("/flows");
  const ids = new Set(deployed.flows.map((n) => n.id));
  assert.deepEqual(flow.filter((n) => !ids.has(n.id as string)).map((n) => n.id), []);
}
