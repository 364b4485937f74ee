import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { InFlightMap, LinkBase, LinkDownError, type InFlight } from "../../../lib/session/link-base";
import { loopback } from "../../helpers/loopback";
import { waitFor } from "../../helpers/wait";

/**
 * The smallest link: it adopts a socket the peer opened (as UCP's receive port does,
 * lib/ucp/incoming.ts), keeps requests by number, and counts its clean-ups.
 */
class AdoptedLink extends LinkBase<InFlight> {
  cleanUps = 0;

  constructor(socket: net.Socket, onData: (chunk: Buffer) => void) {
    super(new InFlightMap<InFlight>());
    this.adopt(socket, { errorReason: (error) => `connection error: ${error.message}`, closeReason: "connection closed by the peer", data: onData });
  }

  get socketDestroyed(): boolean | undefined {
    return this.socket?.destroyed;
  }

  track(n: number, callback: (error: Error | undefined) => void): void {
    this.pending.set(n, { timer: setTimeout(() => this.destroy(`no response to ${n}`), 60_000), callback });
  }

  destroy(reason: string, graceful = false): void {
    this.end(reason, graceful, () => this.cleanUps++);
  }
}

/** A link on the accepting end of a loopback socket (the peer dialled in), and the peer's end. */
async function adopted(onData: (chunk: Buffer) => void = () => undefined) {
  const ends = await loopback();
  const { accepted: socket, dialled: peer } = ends;
  peer.on("error", () => undefined);
  const noDelay: boolean[] = [];
  const setNoDelay = socket.setNoDelay.bind(socket);
  socket.setNoDelay = (on?: boolean) => {
    noDelay.push(on === true);
    return setNoDelay(on);
  };
  const link = new AdoptedLink(socket, onData);
  const downs: string[] = [];
  link.onDown = (reason) => downs.push(reason);
  return {
    link,
    peer,
    socket,
    noDelay,
    downs,
    async close() {
      link.destroy("test over");
      await ends.close();
    },
  };
}

describe("LinkBase, adopting a socket the peer opened", () => {
  test("no delay is set on the adopted socket, as on a dialled one", async () => {
    const a = await adopted();
    try {
      assert.deepEqual(a.noDelay, [true]);
    } finally {
      await a.close();
    }
  });

  test("the peer closing ends the link once: every request in flight is handed back once with LinkDownError, onDown hears the reason once", async () => {
    const a = await adopted();
    try {
      const answers: string[] = [];
      a.link.track(1, (error) => answers.push(`1 ${error instanceof LinkDownError ? "LinkDownError" : "?"}: ${error?.message}`));
      a.link.track(2, (error) => answers.push(`2 ${error instanceof LinkDownError ? "LinkDownError" : "?"}: ${error?.message}`));
      assert.equal(a.link.inFlight, 2);
      a.peer.destroy();
      await waitFor(() => a.downs.length > 0, "the end");
      a.link.destroy("a second end");
      a.socket.emit("close", false);
      assert.deepEqual(answers, ["1 LinkDownError: connection closed by the peer", "2 LinkDownError: connection closed by the peer"]);
      assert.deepEqual(a.downs, ["connection closed by the peer"]);
      assert.equal(a.link.cleanUps, 1);
      assert.equal(a.link.inFlight, 0);
      assert.equal(a.link.socketDestroyed, true);
    } finally {
      await a.close();
    }
  });

  test("a throw while reading data ends the link with its reason instead of escaping the socket event", async () => {
    const a = await adopted(() => {
      throw new Error("unreadable on purpose");
    });
    try {
      const answers: string[] = [];
      a.link.track(7, (error) => answers.push(error?.message ?? "ok"));
      a.peer.write("x");
      await waitFor(() => a.downs.length > 0, "the end");
      assert.deepEqual(a.downs, ["internal error: unreadable on purpose"]);
      assert.deepEqual(answers, ["internal error: unreadable on purpose"]);
      assert.equal(a.link.socketDestroyed, true);
    } finally {
      await a.close();
    }
  });

  test("a socket error ends the link with the protocol's reason, and a late one after the end is still handled", async () => {
    const a = await adopted();
    try {
      a.socket.emit("error", new Error("reset by a test"));
      assert.deepEqual(a.downs, ["connection error: reset by a test"]);
      // Without the listener kept for the object's life this would throw as an unhandled 'error'.
      assert.doesNotThrow(() => a.socket.emit("error", new Error("late")));
      assert.deepEqual(a.downs, ["connection error: reset by a test"]);
    } finally {
      await a.close();
    }
  });

  test("a throw in a request's callback while ending does not stop the others being handed back or onDown", async () => {
    const a = await adopted();
    try {
      const answers: string[] = [];
      a.link.track(1, () => {
        throw new Error("callback threw");
      });
      a.link.track(2, (error) => answers.push(error?.message ?? "ok"));
      a.link.destroy("ended by the test");
      assert.deepEqual(answers, ["ended by the test"]);
      assert.deepEqual(a.downs, ["ended by the test"]);
    } finally {
      await a.close();
    }
  });
});

describe("InFlightMap", () => {
  test("drain gives back everything in flight, in the order it was put, and empties the map", () => {
    const map = new InFlightMap<string>();
    map.set(3, "c");
    map.set(1, "a");
    assert.equal(map.inFlight, 2);
    assert.deepEqual(map.drain(), ["c", "a"]);
    assert.equal(map.inFlight, 0);
    assert.deepEqual(map.drain(), []);
  });
});
