/**
 * The link's outgoing PDUs, batched: PDUs written during one turn of the event loop leave in
 * one socket write. A window of submits (or a batch of deliver_sm_resp) is written by many
 * calls in a row; one write per PDU cost a syscall and a write request each (9 % of the
 * bridge's CPU in the profile). Under load each MT reaches the link in a callback of its own
 * (its HTTP request, then Node-RED's setImmediate per hop), so a flush on process.nextTick
 * still wrote one submit_sm per syscall; setImmediate waits for the rest of the turn's
 * callbacks (at most one turn of latency) and writes their submits together.
 */
import type * as net from "node:net";

export class WriteBatch {
  /** Encoded PDUs waiting for the next flush, in the order they were written. */
  private outgoing: Buffer[] = [];
  /** The first of them, for the reason when the write fails. */
  private first = "";
  private scheduled: NodeJS.Immediate | undefined;

  /**
   * @param fail called with the reason when the socket cannot take the batch (the link ends)
   * @param guard runs the deferred flush so that an exception ends the link instead of escaping
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly fail: (reason: string) => void,
    private readonly guard: (fn: () => void) => void,
  ) {}

  add(encoded: Buffer, command: string): void {
    if (this.outgoing.length === 0) this.first = command;
    this.outgoing.push(encoded);
    if (!this.scheduled) this.scheduled = setImmediate(() => this.guard(() => this.flush()));
  }

  /** Writes what is waiting now (also before a graceful end). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const buffers = this.outgoing;
    if (buffers.length === 0) return;
    const what = buffers.length === 1 ? this.first : `${this.first} and ${buffers.length - 1} more PDUs`;
    this.outgoing = [];
    if (!this.socket.writable) {
      this.fail(`socket not writable when sending ${what}`);
      return;
    }
    try {
      this.socket.write(buffers.length === 1 ? buffers[0] : Buffer.concat(buffers));
    } catch (error) {
      this.fail(`cannot send ${what}: ${(error as Error).message}`);
    }
  }

  /** Forgets what is waiting (the socket is being destroyed). */
  drop(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.outgoing = [];
  }
}
