/**
 * Status polling, for partners that "inform Rapporto if [they need a] polling mechanism".
 * No polling request is documented publicly (reference §1.2: "only push is public"), so the
 * URL and the reply format are configuration: a URL template and a pattern with a named
 * group `status` (Rapporto's DLR codes 0/2/5/9) and optionally `reason` (unifiedExtStatus).
 * Each answer becomes the same parameters a DLR push carries, so one code path handles both.
 */
import { DLR_STATUS } from "./codes";
import { HttpClient, type HttpResponse } from "../http/client";
import type { PushParams } from "./mo";
import { encodeValue } from "./mt";

export interface PollOptions {
  /** e.g. `https://host/status?serviceId={serviceId}&pass={pass}&id={transactionId}`; values are URL-encoded. */
  urlTemplate: string;
  /** Regular expression with `(?<status>...)` and optionally `(?<reason>...)`. */
  statusPattern: string;
  serviceId: string;
  pass: string;
  intervalMs: number;
  /** Bound on ids polled at once; beyond it the oldest is given up. */
  maxOutstanding: number;
  /** Give up on an id this long after it was added. */
  maxAgeMs: number;
  requestTimeoutMs?: number;
}

export interface PollEvents {
  /**
   * A new status for an id, as DLR push parameters. Resolves true once it is handed on; until
   * then the id stays outstanding and is asked about again.
   */
  status(params: PushParams): Promise<boolean>;
  /** An id given up (too old, or pushed out by newer ones). */
  expired(transactionId: string, why: string): void;
  /** A poll that failed; the id stays outstanding. Never contains the password. */
  error(transactionId: string, reason: string): void;
}

const PLACEHOLDER = /\{(transactionId|ptag|serviceId|pass)\}/g;

/** Checks the template and pattern once; throws with the reason. */
export function checkPollOptions(options: PollOptions): RegExp {
  if (!options.urlTemplate.includes("{transactionId}") && !options.urlTemplate.includes("{ptag}")) {
    throw new Error("poll URL template needs {transactionId} or {ptag}");
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(options.statusPattern);
  } catch (err) {
    throw new Error(`poll status pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  if (!options.statusPattern.includes("(?<status>")) throw new Error("poll status pattern needs a named group (?<status>...)");
  if (!(options.intervalMs >= 1000)) throw new Error("poll interval must be at least 1000 ms");
  if (!(options.maxOutstanding >= 1)) throw new Error("poll needs room for at least one outstanding id");
  return pattern;
}

/** Fills the template, URL-encoding every value. */
export function pollUrl(template: string, values: Record<string, string | undefined>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => encodeValue(values[name] ?? ""));
}

/** Reads one poll reply: the push parameters it amounts to, or undefined when it says nothing yet. */
export function parsePollReply(pattern: RegExp, transactionId: string, ptag: string | undefined, reply: Pick<HttpResponse, "status" | "body">): PushParams | undefined | Error {
  if (reply.status < 200 || reply.status >= 300) return new Error(`poll answered HTTP ${reply.status}`);
  const groups = pattern.exec(reply.body)?.groups;
  if (!groups?.status) return undefined;
  if (!DLR_STATUS[groups.status]) return new Error(`poll answered unknown status "${groups.status}"`);
  const params: PushParams = { transactionId, status: groups.status };
  if (ptag) params.ptag = ptag;
  if (groups.reason) params.unifiedExtStatus = groups.reason;
  return params;
}

interface Outstanding {
  ptag?: string;
  added: number;
  lastStatus?: string;
}

/** Codes after which nothing more will come for an id. */
const FINAL = new Set(["2", "5", "9"]);

export class DlrPoller {
  private readonly pattern: RegExp;
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly http = new HttpClient({ maxSockets: 4 });
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: PollOptions, private readonly events: PollEvents, private readonly now: () => number = Date.now) {
    this.pattern = checkPollOptions(options);
  }

  get size(): number {
    return this.outstanding.size;
  }

  /** Starts polling an id returned by an MT. */
  track(transactionId: string, ptag?: string): void {
    this.outstanding.delete(transactionId);
    this.outstanding.set(transactionId, { ptag, added: this.now() });
    for (const oldest of this.outstanding.keys()) {
      if (this.outstanding.size <= this.options.maxOutstanding) break;
      this.outstanding.delete(oldest);
      this.events.expired(oldest, `more than ${this.options.maxOutstanding} outstanding ids`);
    }
  }

  /** A pushed DLR made polling this id unnecessary. */
  forget(transactionId: string): void {
    this.outstanding.delete(transactionId);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.pollOnce(), this.options.intervalMs);
  }

  /** Polls every outstanding id once, one after another (the same rate limit applies on Rapporto's side). */
  async pollOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const [id, entry] of [...this.outstanding]) {
        if (!this.outstanding.has(id)) continue;
        if (this.now() - entry.added > this.options.maxAgeMs) {
          this.outstanding.delete(id);
          this.events.expired(id, "no final status within the polling time");
          continue;
        }
        await this.pollId(id, entry);
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.http.close();
  }

  private async pollId(id: string, entry: Outstanding): Promise<void> {
    const url = pollUrl(this.options.urlTemplate, { transactionId: id, ptag: entry.ptag, serviceId: this.options.serviceId, pass: this.options.pass });
    let result: PushParams | undefined | Error;
    try {
      const reply = await this.http.request({ method: "GET", url, timeoutMs: this.options.requestTimeoutMs ?? 10_000 });
      result = parsePollReply(this.pattern, id, entry.ptag, reply);
    } catch (err) {
      result = err as Error;
    }
    if (result instanceof Error) {
      const pass = this.options.pass;
      this.events.error(id, pass ? result.message.split(pass).join("***") : result.message);
      return;
    }
    if (!result) return;
    const code = String(result.status);
    if (entry.lastStatus === code) return;
    let taken = false;
    try {
      taken = await this.events.status(result);
    } catch (err) {
      this.events.error(id, `status not handed on: ${(err as Error).message}`);
    }
    // Only a status that was taken is done with; otherwise the next round asks again.
    if (!taken) return;
    entry.lastStatus = code;
    if (FINAL.has(code)) this.outstanding.delete(id);
  }
}
