/**
 * A failover staged step by step, for the write that the old master answered and its replica
 * never got (lib/store/redis-connection.ts `durably`): two redis-servers, M (master) and R (its
 * replica), with relays on 127.0.0.1 between them and between the client and M.
 *
 *   client ──clientRelay──> M ──replicationRelay──> R
 *
 * `replicationRelay.pause()` stops M's stream to R (and R's acknowledgements back), so what M
 * answers from then on is on M alone. `clientRelay.onCommand("wait", ...)` holds the client's
 * next WAIT (M never sees it) and runs `failover()`: R is promoted (`REPLICAOF NO ONE`), M is made
 * R's replica (a full resync that drops what only M had, as a Sentinel failover does to a master
 * that comes back), the client relay points at R and cuts the client's connection. ioredis
 * reconnects, sends the WAIT again, and R answers it once M has caught up: the WAIT passes on a
 * master that never had the write.
 */
import Redis from "ioredis";
import { startRedis, type RedisServer } from "../../helpers/redis-server";
import { startRelay, type Relay } from "./relay";

export interface FailoverPair {
  master: RedisServer;
  replica: RedisServer;
  clientRelay: Relay;
  replicationRelay: Relay;
  /** The URL the code under test uses: through the client relay, waiting for one replica. */
  url: string;
  /** A plain client straight to the replica (the master after `failover`). */
  onReplica: Redis;
  /** Promotes the replica, makes the old master its replica, moves the client relay there and cuts it. */
  failover(): Promise<void>;
  /**
   * Holds the client's next WAIT and stages the failover instead. `done` (called once the write
   * under test resolved) waits for the failover, or rejects when no WAIT was sent at all.
   */
  failoverAtNextWait(): { done(): Promise<void> };
  /** The same, for the next request whose bytes hold `marker` (lower case). */
  failoverAtNext(marker: string): { done(): Promise<void> };
  /**
   * Holds the client's next WAIT until `arrived()` says the write reached the replica, promotes
   * the replica (the old master its replica), lets another instance work there (`meanwhile`, with
   * the new master's URL) and only then moves the client over: the write is on the new master,
   * but another instance may have used it before this client looks for it.
   */
  failoverWithOtherInstance(arrived: () => Promise<boolean>, meanwhile: (newMasterUrl: string) => Promise<void>): { done(): Promise<void> };
  stop(): Promise<void>;
}

export async function startFailoverPair(): Promise<FailoverPair> {
  const master = await startRedis();
  const replica = await startRedis();
  const replicationRelay = await startRelay(master.port);
  const clientRelay = await startRelay(master.port);
  const onMaster = new Redis({ port: master.port, host: "127.0.0.1", lazyConnect: false });
  const onReplica = new Redis({ port: replica.port, host: "127.0.0.1", lazyConnect: false });
  // A full sync otherwise waits 5 s for more replicas to join (Redis 7's diskless default).
  for (const node of [onMaster, onReplica]) await node.config("SET", "repl-diskless-sync-delay", "0");
  await onReplica.replicaof("127.0.0.1", replicationRelay.port);
  // Synced: a write on the master reaches the replica and is acknowledged.
  for (let tries = 0; (await onMaster.set("sync-probe", "1").then(() => onMaster.wait(1, 200))) < 1; tries++) {
    if (tries > 100) throw new Error("the replica did not sync");
  }
  await onMaster.del("sync-probe");
  const failover = async () => {
    await onReplica.replicaof("NO", "ONE");
    await onMaster.replicaof("127.0.0.1", replica.port);
    clientRelay.pointTo(replica.port);
    clientRelay.cutAll();
  };
  const failoverAtNext = (marker: string) => {
    let staged: Promise<void> | undefined;
    clientRelay.onCommand(marker, () => (staged = failover()));
    return { done: () => staged ?? Promise.reject(new Error(`the call sent no request holding ${JSON.stringify(marker)}`)) };
  };
  const failoverWithOtherInstance = (arrived: () => Promise<boolean>, meanwhile: (newMasterUrl: string) => Promise<void>) => {
    let staged: Promise<void> | undefined;
    clientRelay.onCommand("\r\nwait\r\n", () =>
      (staged = (async () => {
        for (let tries = 0; !(await arrived()); tries++) {
          if (tries > 200) throw new Error("the write never reached the replica");
          await new Promise((r) => setTimeout(r, 10));
        }
        await onReplica.replicaof("NO", "ONE");
        await onMaster.replicaof("127.0.0.1", replica.port);
        await meanwhile(`redis://127.0.0.1:${replica.port}`);
        clientRelay.pointTo(replica.port);
        clientRelay.cutAll();
      })()),
    );
    return { done: () => staged ?? Promise.reject(new Error("the call sent no WAIT")) };
  };
  return {
    master,
    replica,
    clientRelay,
    replicationRelay,
    url: `redis://127.0.0.1:${clientRelay.port}?replicas=1&waitMs=1000`,
    onReplica,
    failover,
    failoverAtNextWait: () => failoverAtNext("\r\nwait\r\n"),
    failoverAtNext,
    failoverWithOtherInstance,
    stop: async () => {
      onMaster.disconnect();
      onReplica.disconnect();
      await clientRelay.close();
      await replicationRelay.close();
      await master.stop();
      await replica.stop();
    },
  };
}
