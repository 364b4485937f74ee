/**
 * Whether this Node-RED instance can take traffic, for a load balancer's health check
 * (nodes/shared/health.ts serves it; docs/design.md decision 35).
 *
 * Ready means: every open store and queue answered a round trip within the probe timeout,
 * no SMPP bind is still on its first attempt since the start (a load balancer must not send
 * MT to an instance that restarted but has not bound yet), and of each kind of sender in use
 * at least one is up (a bind bound, an account usable). The report names binds and accounts by
 * their node name and stores by backend only: no host, URL, system_id or password.
 */
import type { OpenResource } from "../store/index";
import { withinMs } from "../time-limit";

export type SenderKind = "smpp-bind" | "rapporto-account";

/** A sender's state as its config node sees it. */
export interface SenderState {
  up: boolean;
  /** Still on its first attempt since the start: neither up nor failed yet. */
  starting: boolean;
}

export interface Sender {
  kind: SenderKind;
  name: string;
  state(): SenderState;
}

export interface HealthReport {
  ready: boolean;
  /** Why not ready; empty when ready. */
  reasons: string[];
  binds: Array<{ name: string; state: "up" | "starting" | "down" }>;
  accounts: Array<{ name: string; state: "up" | "down" }>;
  stores: Array<{ kind: "store" | "queue"; name: string; backend: string; reachable: boolean }>;
  /** Calls waiting in the outboxes to RapidPro (queues named courier-*), summed. */
  outbox: number;
}

/** How long a store may take to answer before it counts as unreachable. */
export const PROBE_TIMEOUT_MS = 1_000;

export class Readiness {
  private readonly senders = new Set<Sender>();

  constructor(
    private readonly resources: () => OpenResource[],
    private readonly probeTimeoutMs = PROBE_TIMEOUT_MS,
  ) {}

  /** Adds a sender; returns the function that removes it. */
  add(sender: Sender): () => void {
    this.senders.add(sender);
    return () => this.senders.delete(sender);
  }

  get size(): number {
    return this.senders.size;
  }

  async report(): Promise<HealthReport> {
    const probed = await Promise.all(
      this.resources().map(async (r) => {
        const outcome = await withinMs(r.probe(), this.probeTimeoutMs, `no answer within ${this.probeTimeoutMs} ms`).then(
          (depth) => ({ reachable: true, depth }),
          () => ({ reachable: false, depth: undefined }),
        );
        return { resource: r, ...outcome };
      }),
    );
    return judge(
      [...this.senders].map((s) => ({ kind: s.kind, name: s.name, ...s.state() })),
      probed.map(({ resource, reachable, depth }) => ({ kind: resource.kind, name: resource.name, backend: resource.backend, reachable, depth })),
    );
  }
}

/** The rule itself, on plain data (the table of cases in test/unit/health/readiness.test.ts). */
export function judge(
  senders: Array<{ kind: SenderKind; name: string } & SenderState>,
  resources: Array<{ kind: "store" | "queue"; name: string; backend: string; reachable: boolean; depth?: number }>,
): HealthReport {
  const reasons: string[] = [];
  const binds = senders.filter((s) => s.kind === "smpp-bind");
  const accounts = senders.filter((s) => s.kind === "rapporto-account");
  for (const r of resources) if (!r.reachable) reasons.push(`${r.kind} ${publicName(r)} (${r.backend}) unreachable`);
  if (senders.length === 0) reasons.push("no SMPP bind or Rapporto account is deployed");
  for (const b of binds) if (b.starting) reasons.push(`bind ${b.name} not bound yet since the start`);
  if (binds.length > 0 && !binds.some((b) => b.up) && !binds.some((b) => b.starting)) reasons.push("no SMPP bind is up");
  if (accounts.length > 0 && !accounts.some((a) => a.up)) reasons.push("no Rapporto account is usable");
  return {
    ready: reasons.length === 0,
    reasons,
    binds: binds.map((b) => ({ name: b.name, state: b.up ? "up" : b.starting ? "starting" : "down" })),
    accounts: accounts.map((a) => ({ name: a.name, state: a.up ? "up" : "down" })),
    stores: resources.map((r) => ({ kind: r.kind, name: publicName(r), backend: r.backend, reachable: r.reachable })),
    outbox: resources.filter((r) => r.kind === "queue" && r.name.startsWith("courier-")).reduce((sum, r) => sum + (r.depth ?? 0), 0),
  };
}

/**
 * A queue's name without the ids in it: the outbox's name holds the channel UUID, and
 * courier's receive URL takes MO for anyone who knows it.
 */
function publicName(r: { kind: "store" | "queue"; name: string }): string {
  if (r.kind === "store") return r.name;
  if (r.name.startsWith("courier-")) return "outbox";
  if (r.name.startsWith("mo-parts-")) return "long-mo-parts";
  return "queue";
}

/**
 * An SMPP bind as a sender: up while its session is bound, starting until its first bind or
 * its first failure since the start. `observe` hears every session state.
 */
export class SessionReadiness implements Sender {
  readonly kind = "smpp-bind" as const;
  private settled = false;

  constructor(
    readonly name: string,
    private readonly current: () => string | undefined,
  ) {}

  observe(state: string): void {
    if (state === "bound" || state === "reconnecting") this.settled = true;
  }

  state(): SenderState {
    const now = this.current();
    const up = now === "bound";
    // No session (a configuration error) is down, not starting: it will not bind by waiting.
    return { up, starting: now !== undefined && !up && !this.settled };
  }
}
