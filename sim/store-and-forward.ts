/**
 * Store and forward, as a real SMSC does it: a delivery (receipt, notification or MO part)
 * that the client did not acknowledge is sent again every `redeliverMs` until it is, or the
 * simulator closes. One loop for the SMPP, UCP/EMI and CIMD2 simulators (sim/smsc.ts,
 * sim/ucp.ts, sim/cimd2.ts); each says what one try is (a CIMD2 try waits for a logged-in peer
 * with room in its window).
 */
export interface RedeliveryCounters {
  /** Deliveries sent again because an earlier try was not acknowledged. */
  redeliveries: number;
  /** Deliveries not yet acknowledged and still to be retried. */
  undelivered: number;
}

/**
 * Sends once, then, with `redeliverMs` set and the answer not `acknowledged`, again after each
 * `wait(redeliverMs)` until it is or `closed()`. Resolves with the last answer.
 */
export async function sendUntilAcknowledged<A>(
  sendOnce: () => Promise<A>,
  acknowledged: (answer: A) => boolean,
  retry: { redeliverMs?: number; wait: (ms: number) => Promise<void>; closed: () => boolean; counters: RedeliveryCounters },
): Promise<A> {
  let answer = await sendOnce();
  if (!retry.redeliverMs || acknowledged(answer)) return answer;
  retry.counters.undelivered += 1;
  while (!acknowledged(answer) && !retry.closed()) {
    await retry.wait(retry.redeliverMs);
    if (retry.closed()) break;
    retry.counters.redeliveries += 1;
    answer = await sendOnce();
  }
  // Given up (the simulator closed) or acknowledged: either way no longer held.
  retry.counters.undelivered -= 1;
  return answer;
}
