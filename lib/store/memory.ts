/**
 * In-memory correlation store: fast, and lost on restart. Used by tests and where losing
 * receipts on a restart is acceptable; the embedded and Redis stores keep entries across one.
 */
import { addSubmission, applyPartState, newRecord } from "../delivery/aggregate";
import { DEFAULT_TTL_MS, type Correlation, type CorrelationStore, type PartState, type PartUpdate } from "./types";

export class MemoryStore implements CorrelationStore {
  private readonly byPart = new Map<string, Correlation>();
  private readonly byMessage = new Map<string, Correlation>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ttlMs = DEFAULT_TTL_MS, private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 60_000));
    this.sweeper.unref();
  }

  async put(rapidproId: string, partIds: string[], text?: string): Promise<void> {
    // No await before the entry is set: two parts of one id put at once must find each other.
    let record = this.live(this.byMessage.get(rapidproId));
    if (record) addSubmission(record, partIds, text, this.now());
    else record = newRecord(rapidproId, partIds, text, this.now());
    for (const id of partIds) this.byPart.set(id, record);
    this.byMessage.set(rapidproId, record);
  }

  async findByPart(partId: string): Promise<Correlation | undefined> {
    return this.live(this.byPart.get(partId));
  }

  async findByMessage(rapidproId: string): Promise<Correlation | undefined> {
    return this.live(this.byMessage.get(rapidproId));
  }

  async markPart(partId: string, state: PartState, reason?: string): Promise<PartUpdate | undefined> {
    const record = await this.findByPart(partId);
    if (!record) return undefined;
    return applyPartState(record, partId, state, reason);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private live(record: Correlation | undefined): Correlation | undefined {
    return record && !this.expired(record) ? record : undefined;
  }

  private expired(record: Correlation): boolean {
    return this.now() - record.createdAt > this.ttlMs;
  }

  private sweep(): void {
    for (const [id, record] of this.byPart) if (this.expired(record)) this.byPart.delete(id);
    for (const [id, record] of this.byMessage) if (this.expired(record)) this.byMessage.delete(id);
  }
}
