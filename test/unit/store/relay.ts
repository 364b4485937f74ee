/**
 * A TCP relay on 127.0.0.1 in front of a redis-server, for faults a real network or failover
 * makes at one precise point: a reply lost after its command ran (a Redis restart does that to
 * what it ran in its last instant, and ioredis sends the command again after reconnecting:
 * autoResendUnfulfilledCommands in lib/store/redis-connection.ts), a request held back while a
 * failover is staged (failover-pair.ts), a replication link that stops, a move to another server.
 */
import net from "node:net";

export interface Relay {
  port: number;
  /** New connections go to this port from now on. */
  pointTo(port: number): void;
  /** Bytes stop flowing both ways on every connection (nothing is delivered later). */
  pause(): void;
  /** Closes every connection through the relay. */
  cutAll(): void;
  /** Holds the next client request whose bytes hold `marker` (not sent on) and runs `then`. */
  onCommand(marker: string, then: () => Promise<void>): void;
  /**
   * The reply to the next request that holds `marker` is dropped, with its connection: the
   * command ran, its reply never came. Use it while that connection has nothing else in flight.
   */
  loseReplyTo(marker: string): void;
  /** Replies dropped so far. */
  readonly lost: number;
  /** Client requests seen that held `marker`, e.g. "wait". */
  count(marker: string): number;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  let target = targetPort;
  let paused = false;
  let held: { marker: string; then: () => Promise<void> } | undefined;
  let losing: string | undefined;
  let lost = 0;
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: target });
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    let dropNextReply = false;
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1").toLowerCase();
      seen.push(text);
      if (losing && text.includes(losing)) {
        losing = undefined;
        dropNextReply = true;
      }
      if (held && text.includes(held.marker)) {
        const { then } = held;
        held = undefined;
        void then();
        return;
      }
      if (!paused) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (dropNextReply) {
        dropNextReply = false;
        lost++;
        cut();
        return;
      }
      if (!paused) client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on("error", cut);
      socket.on("close", () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pointTo: (port) => {
      target = port;
    },
    pause: () => {
      paused = true;
    },
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    onCommand: (marker, then) => {
      held = { marker: marker.toLowerCase(), then };
    },
    loseReplyTo: (marker) => {
      losing = marker.toLowerCase();
    },
    get lost() {
      return lost;
    },
    count: (marker) => seen.filter((text) => text.includes(`\r\n${marker.toLowerCase()}\r\n`)).length,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
