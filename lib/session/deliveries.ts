/**
 * The deliveries an SMSC session has handed up and not yet answered (SMPP deliver_sm, UCP
 * OT 01/52/53, CIMD2 op 20/23). Each is answered exactly once: with what its handler decides,
 * or, when nothing came within `deliverTimeoutMs`, with the protocol's "deliver again" answer,
 * so the SMSC keeps the message. close() waits, bounded, for the ones still being handled.
 */
import { boundedWait } from "./window";

export class PendingDeliveries {
  private count = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly timeoutMs: number) {}

  get pending(): number {
    return this.count;
  }

  /**
   * Takes one delivery: the function returned sends `send(answer)` the first time it is
   * called and does nothing after. If it is not called within the timeout, `late()` gives the
   * answer (and says why in the log).
   */
  take<A>(send: (answer: A) => void, late: () => A): (answer: A) => void {
    this.count += 1;
    let answered = false;
    const respond = (answer: A) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      this.count -= 1;
      send(answer);
      if (this.count === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
    const timer = setTimeout(() => respond(late()), this.timeoutMs);
    return respond;
  }

  /** Resolves when every delivery taken has been answered, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    return this.count === 0 ? Promise.resolve() : boundedWait(this.idleWaiters, timeoutMs);
  }
}
