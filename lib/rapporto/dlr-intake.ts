/**
 * Where Rapporto's statuses come in, pushed or polled, for one rapporto-dlr node: the DLR
 * receiver (lib/rapporto/receiver.ts) once the correlation store is open, and the optional
 * poller (lib/rapporto/poll.ts), with the rules that tie the two together. The node keeps only
 * the HTTP endpoint, its outputs and its status.
 */
import { DLR_ANSWERS } from "./dlr";
import type { PushAnswer, PushParams } from "./mo";
import { DlrPoller, type PollOptions } from "./poll";
import type { DlrHandling, DlrReceiver, PushRequest } from "./receiver";

/** A polled status needs no more polling once it was reported, had been, or its id is unknown for good. */
const POLL_SETTLED: ReadonlySet<DlrHandling["kind"]> = new Set(["report", "no-change", "unknown"]);

export interface DlrIntakeEvents {
  /** Every handling, pushed or polled, for the node's counters and warnings. */
  handled(kind: DlrHandling["kind"], note: string | undefined): void;
  /** An id the poller gave up. */
  pollExpired(transactionId: string, why: string): void;
  /** A poll that failed; the id is asked about again. Never contains the password. */
  pollError(transactionId: string, reason: string): void;
  /** Polling options that cannot work: pushes are still taken, nothing is polled. */
  pollUnusable(reason: string): void;
}

export class DlrIntake {
  private receiver: DlrReceiver | undefined;
  private readonly poller: DlrPoller | undefined;

  /** `opened` resolves to the receiver once the store is open, or undefined when it cannot be. */
  constructor(
    private readonly opened: Promise<DlrReceiver | undefined>,
    poll: PollOptions | undefined,
    private readonly events: DlrIntakeEvents,
  ) {
    void opened.then((r) => (this.receiver = r));
    try {
      this.poller = poll && new DlrPoller(poll, {
        status: (params) => this.polled(params),
        expired: (id, why) => events.pollExpired(id, why),
        error: (id, reason) => events.pollError(id, reason),
      });
      this.poller?.start();
    } catch (err) {
      events.pollUnusable((err as Error).message);
    }
  }

  /** An MT Rapporto accepted: poll its status if polling is on. */
  accepted(transactionId: string, ptag?: string): void {
    this.poller?.track(transactionId, ptag);
  }

  /** One DLR push: the answer Rapporto gets. */
  async push(request: PushRequest): Promise<PushAnswer> {
    const receiver = await this.opened;
    // Store unusable: "400 … or 500 make the provider retry" (http_status.rst); 503 is not named there.
    if (!receiver) return { status: DLR_ANSWERS.again, body: "temporary failure: correlation store unusable" };
    const handling = await receiver.handle(request);
    if (handling.kind === "report" && typeof request.params.transactionId === "string") this.poller?.forget(request.params.transactionId);
    this.events.handled(handling.kind, handling.note);
    return handling.answer;
  }

  /** Stops polling and ends the waits of pushes still looking for their message. */
  close(): void {
    this.poller?.stop();
    this.receiver?.close();
  }

  private async polled(params: PushParams): Promise<boolean> {
    const handling = await (await this.opened)?.handle({ params, internal: true });
    if (!handling) return false;
    this.events.handled(handling.kind, handling.note);
    return POLL_SETTLED.has(handling.kind);
  }
}
