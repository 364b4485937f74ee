/**
 * `npm run bench -- --alloc-prof DIR`: loaded into Node-RED with `--require` (bench/run.ts), it
 * samples where the JavaScript heap allocates, one scenario at a time.
 *
 * The bench sends SIGWINCH when a scenario's measured window starts and again when it ends (not
 * SIGUSR2: Node-RED's red.js stops on it, for nodemon). The first starts V8's sampling heap
 * profiler, the second stops it and writes the profile into BENCH_ALLOC_PROF_DIR; each step is
 * acknowledged on stderr, which the bench reads from Node-RED's log. If Node-RED stops while
 * sampling (SIGTERM, SIGINT, exit), what was sampled so far is written then.
 *
 * `includeObjectsCollectedByMajorGC` and `...MinorGC` (V8 9.x; Node 20's V8 11.3 has them) keep
 * the samples of objects that died: without them the profile shows only what is still alive
 * when it stops, a few hundred KB, not what a scenario allocated.
 */
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";
import { DIR_VARIABLE, SAMPLING_INTERVAL_BYTES, STARTED_LINE, TOGGLE_SIGNAL, WROTE_LINE } from "./alloc-profile";

const dir = process.env[DIR_VARIABLE];
if (!dir) throw new Error(`bench/alloc-preload: ${DIR_VARIABLE} is not set`);
fs.mkdirSync(dir, { recursive: true });

const session = new inspector.Session();
session.connect();
let sampling = false;
let written = 0;

// An in-process session answers synchronously, so these work in an 'exit' listener too.
function post(method: string, params?: object): unknown {
  let answer: unknown;
  session.post(method, params, (error, result) => {
    if (error) throw error;
    answer = result;
  });
  return answer;
}

// Only while sampling: before red.js has its own handlers, SIGTERM must still end the process.
const onStopSignal = (signal: NodeJS.Signals) => stop(signal);

function start(): void {
  post("HeapProfiler.enable");
  post("HeapProfiler.startSampling", {
    samplingInterval: SAMPLING_INTERVAL_BYTES,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  sampling = true;
  process.on("SIGTERM", onStopSignal);
  process.on("SIGINT", onStopSignal);
  process.stderr.write(`${STARTED_LINE} every ${SAMPLING_INTERVAL_BYTES} bytes\n`);
}

function stop(why: string): void {
  if (!sampling) return;
  sampling = false;
  process.removeListener("SIGTERM", onStopSignal);
  process.removeListener("SIGINT", onStopSignal);
  const { profile } = post("HeapProfiler.stopSampling") as { profile: unknown };
  const file = path.join(dir!, `alloc-${process.pid}-${++written}.heapprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
  process.stderr.write(`${WROTE_LINE}${file} (${why})\n`);
}

process.on(TOGGLE_SIGNAL, () => (sampling ? stop("end of the scenario") : start()));
// red.js's own SIGTERM and SIGINT handlers stop Node-RED and then exit.
process.on("exit", () => stop("exit"));
