/**
 * How far V8 lets the JavaScript heap grow past its live data before the next full collection.
 *
 * Under load most of what the bridge allocates lives for one message and dies young, but a
 * message held across the SMSC's answer and the store's commit outlives two scavenges and is
 * promoted; V8 then lets the old generation grow to up to 4 times the data that survived the
 * last full collection before it collects again (its default on a machine with more than a
 * gigabyte or so for the heap). The bench measured 76-80 MB live and 331-339 MB of heap in the
 * dlr and mo scenarios: most of Node-RED's peak RSS was garbage waiting for that collection.
 * Growth 2 times (100 %) kept the same runs at 194-198 MB of heap with no CPU cost that showed;
 * 1.5 times (50 %) at 165 MB, but MO then took about 10 % more CPU per message (docs/design.md
 * decision 44, README "Benchmark").
 *
 * V8 reads this flag each time it sets the next limit, so setting it when the nodes load takes
 * effect from the next full collection on. It is process-wide: every flow of this Node-RED gets
 * it. `rapidproSms.heapGrowingPercent` in settings.js changes the figure; 0 leaves V8's own
 * heuristics alone; a `--heap-growing-percent` Node-RED was started with always wins.
 */
import { setFlagsFromString } from "node:v8";

/** Growth past live data, in percent, applied when settings.js says nothing. */
export const DEFAULT_HEAP_GROWING_PERCENT = 100;
/** Below this V8 would collect almost continuously; above it the setting is pointless (V8's own maximum is 300). */
const MIN_PERCENT = 10;
const MAX_PERCENT = 300;

const FLAG = "--heap-growing-percent";

export type HeapGrowthOutcome =
  | { applied: true; percent: number }
  | { applied: false; reason: string };

/**
 * Sets V8's heap growth for this process from the `rapidproSms.heapGrowingPercent` setting
 * (undefined: the default; 0 or false: leave V8 alone). `execArgv` is Node's own command line,
 * where a user's flag would be (Node refuses it in NODE_OPTIONS). Throws nothing: a bad setting
 * is reported and nothing is changed.
 */
export function limitHeapGrowth(setting: unknown, execArgv: readonly string[] = process.execArgv, setFlags: (flags: string) => void = setFlagsFromString): HeapGrowthOutcome {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg.startsWith("--heap_growing_percent"))) {
    return { applied: false, reason: "Node-RED was started with its own --heap-growing-percent" };
  }
  if (setting === 0 || setting === false) return { applied: false, reason: "rapidproSms.heapGrowingPercent is off" };
  const percent = setting === undefined || setting === null ? DEFAULT_HEAP_GROWING_PERCENT : Number(setting);
  if (!Number.isInteger(percent) || percent < MIN_PERCENT || percent > MAX_PERCENT) {
    return { applied: false, reason: `rapidproSms.heapGrowingPercent must be 0 (off) or a whole number from ${MIN_PERCENT} to ${MAX_PERCENT}, not ${JSON.stringify(setting)}: V8's heap growth left as it is` };
  }
  setFlags(`${FLAG}=${percent}`);
  return { applied: true, percent };
}
