/**
 * Both ends of one TCP connection on 127.0.0.1, for tests that drive a socket by hand. No error
 * listener is added to either end: a test of what a link does with a socket error needs the
 * link's own listener to be the only one on its end.
 */
import * as net from "node:net";

export interface Loopback {
  /** The end that dialled. */
  dialled: net.Socket;
  /** The end the listener accepted (as an SMSC's connection to a receive port arrives). */
  accepted: net.Socket;
  /** Ends both sockets and the listener. */
  close(): Promise<void>;
}

export async function loopback(): Promise<Loopback> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const acceptedOnce = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const dialled = net.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port });
  const accepted = await acceptedOnce;
  return {
    dialled,
    accepted,
    async close() {
      dialled.destroy();
      accepted.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
