/**
 * A TCP relay in front of a redis-server that can lose one reply: the command reaches Redis
 * and runs, then the connection is cut before its reply gets back. That is what a Redis restart
 * does to the commands it ran in its last instant (it shuts down before writing their replies),
 * and ioredis sends such a command again once it has reconnected (autoResendUnfulfilledCommands,
 * lib/store/redis-connection.ts). Every write the bridge relies on must come out as if run once.
 */
import net from "node:net";

export interface ReplyLosingRelay {
  /** `redis://127.0.0.1:<relay port>`. */
  url: string;
  /**
   * The reply to the next command whose request holds `command` (e.g. "evalsha", "incr") is
   * dropped, with its connection. Use it while that connection has nothing else in flight.
   */
  loseReplyTo(command: string): void;
  /** Replies dropped so far. */
  readonly lost: number;
  close(): Promise<void>;
}

export async function startReplyLosingRelay(redisPort: number): Promise<ReplyLosingRelay> {
  let marker: string | undefined;
  let lost = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: redisPort });
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    let losing = false;
    client.on("data", (chunk: Buffer) => {
      if (marker && chunk.toString("latin1").toLowerCase().includes(marker)) {
        marker = undefined;
        losing = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (losing) {
        losing = false;
        lost++;
        cut();
        return;
      }
      client.write(chunk);
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
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    loseReplyTo: (command) => {
      marker = command.toLowerCase();
    },
    get lost() {
      return lost;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
