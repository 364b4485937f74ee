/**
 * The bench's side of `--alloc-prof DIR`: Node-RED runs with bench/alloc-preload.ts, and each
 * scenario's measured window is bracketed by two signals, so every profile covers one scenario
 * and neither start-up nor the warm-up. Each profile is renamed after its scenario, with a
 * `<scenario>.json` beside it that `node dist/bench/profile.js DIR/<scenario>.heapprofile`
 * reads: the messages the scenario moved and the KB/msg --trace-gc-nvp counted in the same window.
 */
import fs from "node:fs";
import path from "node:path";

/** Environment variable that tells the preload where to write. */
export const DIR_VARIABLE = "BENCH_ALLOC_PROF_DIR";
/**
 * V8's default mean interval: 20,000 MT of ~40 KB give ~25,000 samples, so an entry of 3 % has
 * ~750 of them (a few % error), while a sample's stack walk stays rare enough not to slow the bridge.
 */
export const SAMPLING_INTERVAL_BYTES = 32 * 1024;
/** Not SIGUSR2 (red.js stops Node-RED on it, for nodemon) nor SIGUSR1 (Node's inspector); ignored by default. */
export const TOGGLE_SIGNAL = "SIGWINCH";
export const STARTED_LINE = "alloc-prof: sampling";
export const WROTE_LINE = "alloc-prof: wrote ";
/** The file to give Node-RED's node with `--require`. */
export const PRELOAD = path.join(__dirname, "alloc-preload.js");

/** What `<scenario>.json` beside a profile says. */
export interface AllocProfileFacts {
  scenario: string;
  /** Messages the scenario moved (the row's counted messages; mixed: MT and MO). */
  messages: number;
  /** The same window's KB/msg from --trace-gc-nvp, to compare the profile's total with. */
  traceGcKbPerMessage?: number;
  samplingIntervalBytes: number;
}

export class AllocProfiler {
  constructor(
    private readonly dir: string,
    private readonly pid: number,
    /** Everything Node-RED printed so far (stdout and stderr). */
    private readonly nodeRedLog: () => string,
  ) {}

  /** Starts sampling; resolves once the preload says it samples. */
  async start(): Promise<void> {
    await this.toggle(STARTED_LINE);
  }

  /** Stops sampling; the profile is written to DIR/<scenario>.heapprofile. */
  async stop(scenario: string): Promise<string> {
    const line = await this.toggle(WROTE_LINE);
    const written = line.slice(WROTE_LINE.length).replace(/ \(.*\)$/, "");
    const file = path.join(this.dir, `${scenario}.heapprofile`);
    fs.renameSync(written, file);
    return file;
  }

  describe(facts: Omit<AllocProfileFacts, "samplingIntervalBytes">): void {
    const all: AllocProfileFacts = { ...facts, samplingIntervalBytes: SAMPLING_INTERVAL_BYTES };
    fs.writeFileSync(path.join(this.dir, `${facts.scenario}.json`), JSON.stringify(all, null, 2) + "\n");
  }

  /** Sends the signal and waits (10 s at most) for the preload's answer, a line starting with `prefix`. */
  private async toggle(prefix: string): Promise<string> {
    const from = this.nodeRedLog().length;
    process.kill(this.pid, TOGGLE_SIGNAL);
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const text = this.nodeRedLog().slice(from);
      const at = text.indexOf(prefix);
      const end = text.indexOf("\n", at);
      if (at >= 0 && end > at) return text.slice(at, end);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`--alloc-prof: Node-RED did not answer ${TOGGLE_SIGNAL} with "${prefix}" within 10 s`);
  }
}
