/**
 * node-red-node-test-helper, set up once for node tests, plus the one thing it lacks:
 * a way to reach routes on `RED.httpNode` (helper issues #29/#53). We wrap each node module
 * to capture `RED.httpNode`, then talk to it with supertest.
 */
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { NodeAPI } from "node-red";
import type { Express } from "express";

helper.init(require.resolve("node-red"));

export { helper };

type NodeModule = { default: (RED: NodeAPI) => void };

const distNodes = path.resolve(__dirname, "..", "..", "nodes");

/** Loads compiled node modules by type name, e.g. nodeModules("rapidpro-in", "rapidpro-out"). */
export function nodeModules(...types: string[]): Array<(RED: NodeAPI) => void> {
  let captured = false;
  return types.map((type) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(distNodes, type, `${type}.js`)) as NodeModule;
    return (RED: NodeAPI) => {
      if (!captured) {
        httpNode = RED.httpNode as unknown as Express;
        captured = true;
      }
      mod.default(RED);
    };
  });
}

let httpNode: Express | undefined;

/** The express app behind RED.httpNode of the flow loaded last. */
export function httpNodeApp(): Express {
  if (!httpNode) throw new Error("no node module loaded yet");
  return httpNode;
}

export async function startHelper(): Promise<void> {
  await helper.startServer();
}

export async function stopHelper(): Promise<void> {
  await helper.unload();
  await helper.stopServer();
}

/** Waits for the next msg a helper node receives. */
export function nextMessage<T = Record<string, unknown>>(nodeId: string, timeoutMs = 5000): Promise<T> {
  const node = helper.getNode(nodeId);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message at ${nodeId} within ${timeoutMs} ms`)), timeoutMs);
    node.once("input", (msg: T) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/**
 * Sets environment variables for a flow that reads `${VAR}` (Node-RED substitutes them when the
 * flow starts); returns the function that puts the previous values back.
 */
export function setEnv(env: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
