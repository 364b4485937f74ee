/**
 * Sparkline points: a few counters per connection or channel, sampled every few seconds and
 * kept for the last minutes in a ring per id (lib/metrics/registry.ts `sample`).
 */
export type Sample = { at: number } & Record<string, number>;

/** 5 minutes at one point every 5 s. */
export const HISTORY_POINTS = 60;

export class History {
  private readonly rings = new Map<string, Sample[]>();

  constructor(private readonly points = HISTORY_POINTS) {}

  add(id: string, at: number, values: Record<string, number>): void {
    let ring = this.rings.get(id);
    if (!ring) this.rings.set(id, (ring = []));
    ring.push({ at, ...values });
    if (ring.length > this.points) ring.splice(0, ring.length - this.points);
  }

  of(id: string): Sample[] {
    return [...(this.rings.get(id) ?? [])];
  }

  forget(id: string): void {
    this.rings.delete(id);
  }
}
