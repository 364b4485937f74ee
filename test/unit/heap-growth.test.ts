/** V8 heap growth set by the package (lib/heap-growth.ts): what each setting does. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_HEAP_GROWING_PERCENT, limitHeapGrowth } from "../../lib/heap-growth";

interface Case {
  name: string;
  setting: unknown;
  execArgv?: string[];
  flags: string[];
  applied: boolean;
  reason?: RegExp;
}

const cases: Case[] = [
  { name: "no setting: the default", setting: undefined, flags: [`--heap-growing-percent=${DEFAULT_HEAP_GROWING_PERCENT}`], applied: true },
  { name: "a whole number in range", setting: 80, flags: ["--heap-growing-percent=80"], applied: true },
  { name: "a numeric string from settings", setting: "25", flags: ["--heap-growing-percent=25"], applied: true },
  { name: "0 leaves V8 alone", setting: 0, flags: [], applied: false, reason: /off/ },
  { name: "false leaves V8 alone", setting: false, flags: [], applied: false, reason: /off/ },
  { name: "below the range is refused with a reason", setting: 5, flags: [], applied: false, reason: /from 10 to 300, not 5/ },
  { name: "above the range is refused", setting: 301, flags: [], applied: false, reason: /not 301/ },
  { name: "a fraction is refused", setting: 50.5, flags: [], applied: false, reason: /whole number/ },
  { name: "text is refused", setting: "half", flags: [], applied: false, reason: /"half"/ },
  { name: "the user's own flag wins", setting: 80, execArgv: ["--heap-growing-percent=20"], flags: [], applied: false, reason: /its own/ },
  { name: "the user's flag with an underscore wins", setting: undefined, execArgv: ["--heap_growing_percent=20"], flags: [], applied: false, reason: /its own/ },
];

describe("limitHeapGrowth", () => {
  for (const c of cases) {
    test(c.name, () => {
      const flags: string[] = [];
      const outcome = limitHeapGrowth(c.setting, c.execArgv ?? [], (f) => flags.push(f));
      assert.deepEqual(flags, c.flags);
      assert.equal(outcome.applied, c.applied);
      if (c.reason) assert.match(outcome.applied ? "" : outcome.reason, c.reason);
    });
  }
});
