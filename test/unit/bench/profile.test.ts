/**
 * bench/profile.ts: the summaries of a CPU profile (--cpu-prof) and of a sampling heap profile
 * (--alloc-prof), on small synthetic profiles whose answers can be worked out by hand.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { origin, summarise, summariseHeap, type HeapProfile } from "../../../bench/profile";

const OURS = "file:///tmp/user/node_modules/node-red-contrib-rapidpro-sms/dist/lib/rapidpro/send.js";
const RUNTIME = "file:///tmp/user/node_modules/@node-red/runtime/lib/nodes/Node.js";
const EXPRESS = "file:///tmp/user/node_modules/express/lib/router/index.js";

describe("origin", () => {
  const cases: Array<[string, string]> = [
    ["", "(native / V8)"],
    ["node:internal/streams/writable", "node:internal/streams/writable"],
    [OURS, "ours: lib/rapidpro/send.js"],
    [RUNTIME, "@node-red/runtime"],
    [EXPRESS, "express"],
    ["file:///work/bench/x.js", "/work/bench/x.js"],
  ];
  for (const [url, want] of cases) test(`${url || "(empty)"} -> ${want}`, () => assert.equal(origin(url), want));
});

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

/**
 * (root) 0
 *  └ onRequest (ours, line 10) 40 KB
 *     ├ Node.send (runtime, line 381) 100 KB
 *     │  └ clone (native) 20 KB
 *     └ handle (express) 16 KB
 *  └ Node.send (runtime, line 381), not under ours: 24 KB
 * Total 200 KB.
 */
const HEAP: HeapProfile = {
  head: {
    id: 1,
    callFrame: frame("(root)", ""),
    selfSize: 0,
    children: [
      {
        id: 2,
        callFrame: frame("onRequest", OURS, 9),
        selfSize: 40 * 1024,
        children: [
          { id: 3, callFrame: frame("Node.send", RUNTIME, 380), selfSize: 100 * 1024, children: [{ id: 4, callFrame: frame("clone", ""), selfSize: 20 * 1024, children: [] }] },
          { id: 5, callFrame: frame("handle", EXPRESS, 0), selfSize: 16 * 1024, children: [] },
        ],
      },
      { id: 6, callFrame: frame("Node.send", RUNTIME, 380), selfSize: 24 * 1024, children: [] },
    ],
  },
  samples: [],
};

/** The line of `text` that ends with `suffix` (the rows are "  value  share  name"). */
function lineEnding(text: string, section: string, suffix: string): string {
  const part = text.slice(text.indexOf(section));
  const line = part.split("\n").find((l) => l.endsWith(suffix));
  assert.ok(line, `no line ending in "${suffix}" after "${section}":\n${text}`);
  return line.trim().replace(/\s+/g, " ");
}

describe("summariseHeap", () => {
  test("with a message count: KB per message and share, by package, by function (same frames summed) and under our function", () => {
    const text = summariseHeap(HEAP, { messages: 4, traceGcKbPerMessage: 51.2, samplingIntervalBytes: 32768 });
    assert.match(text, /^profile: 0\.2 MB allocated \(sampled every 32 KB on average\) over 4 messages: 50\.0 KB\/msg$/m);
    assert.match(text, /^--trace-gc-nvp counted 51\.2 KB\/msg in the same window$/m);
    // 124 KB of runtime over 4 messages; 124/200.
    assert.equal(lineEnding(text, "by package", "@node-red/runtime"), "31.00 62.0 % @node-red/runtime");
    assert.equal(lineEnding(text, "by package", "ours: lib/rapidpro/send.js"), "10.00 20.0 % ours: lib/rapidpro/send.js");
    assert.equal(lineEnding(text, "by package", "(native / V8)"), "5.00 10.0 % (native / V8)");
    // The two Node.send frames are one function: 124 KB.
    assert.equal(lineEnding(text, "by function", "@node-red/runtime:381"), "31.00 62.0 % Node.send @node-red/runtime:381");
    // Under onRequest: itself 40, Node.send 100, clone 20, handle 16 = 176 KB; the 24 KB outside it are not.
    assert.equal(lineEnding(text, "under our innermost", "ours: lib/rapidpro/send.js:10"), "44.00 88.0 % onRequest ours: lib/rapidpro/send.js:10");
  });

  test("without a count: MB and share, and the summary says how to get KB per message", () => {
    const text = summariseHeap(HEAP);
    assert.match(text, /give --messages N for KB per message/);
    assert.equal(lineEnding(text, "by package", "express"), "0.0 8.0 % express");
  });

  test("top N keeps the N largest, largest first", () => {
    const text = summariseHeap(HEAP, { messages: 1 }, 2);
    const byPackage = text.slice(text.indexOf("by package"), text.indexOf("self allocation by function")).trim().split("\n").slice(2);
    assert.deepEqual(byPackage.map((l) => l.trim().split(/\s+/).pop()), ["@node-red/runtime", "lib/rapidpro/send.js"]);
  });
});

describe("summarise (CPU)", () => {
  test("self time by package and function, idle left out of the shares", () => {
    const text = summarise({
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2, 4] },
        { id: 2, callFrame: frame("onRequest", OURS, 9), children: [3] },
        { id: 3, callFrame: frame("handle", EXPRESS), children: [] },
        { id: 4, callFrame: frame("(idle)", ""), children: [] },
      ],
      startTime: 0,
      endTime: 0,
      samples: [2, 3, 3, 3, 4, 4],
      timeDeltas: [1e6, 1e6, 1e6, 1e6, 5e6, 5e6],
    });
    assert.match(text, /^profile: 4\.0 s busy, 10\.0 s idle/m);
    assert.equal(lineEnding(text, "by package", "express"), "75.0 % express");
    assert.equal(lineEnding(text, "by function", "lib/rapidpro/send.js:10"), "25.0 % onRequest ours: lib/rapidpro/send.js:10");
    assert.equal(lineEnding(text, "innermost", "lib/rapidpro/send.js:10"), "100.0 % onRequest ours: lib/rapidpro/send.js:10");
  });
});
