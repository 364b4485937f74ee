/**
 * What the node tests of the three SMSC protocols (test/nodes/smpp-nodes.test.ts,
 * ucp-nodes.test.ts, cimd2-nodes.test.ts) load and read: a flow with `<protocol>-bind`,
 * `<protocol>-out` wired to helper `h1`, `<protocol>-in` wired to helpers `mo`, `st` and `un`,
 * and a catch node wired to `hc`; the messages those helpers get; and an MT to send.
 */
import type { MT, Status, SubmitResult } from "../../lib/contract";

type Props = Record<string, unknown>;

export function smscNodesFlow(protocol: "smpp" | "ucp" | "cimd2", nodes: { bind: Props; out: Props; in: Props }) {
  return [
    { id: "t1", type: "tab" },
    { id: "b1", type: `${protocol}-bind`, host: "127.0.0.1", storeUrl: "memory:", ...nodes.bind },
    { id: "out1", z: "t1", type: `${protocol}-out`, bind: "b1", smart: true, maxParts: 10, wires: [["h1"]], ...nodes.out },
    { id: "h1", z: "t1", type: "helper" },
    { id: "in1", z: "t1", type: `${protocol}-in`, bind: "b1", ackMode: "rapidpro", ackTimeout: 2, unmatchedWait: 0.2, wires: [["mo"], ["st"], ["un"]], ...nodes.in },
    { id: "mo", z: "t1", type: "helper" },
    { id: "st", z: "t1", type: "helper" },
    { id: "un", z: "t1", type: "helper" },
    { id: "catch1", z: "t1", type: "catch", scope: null, wires: [["hc"]] },
    { id: "hc", z: "t1", type: "helper" },
  ];
}

/** What `<protocol>-out` sends on for each part. */
export type SubmitMsg = { payload: MT; submit: SubmitResult };
/** A status from `<protocol>-in`, with the acknowledgement a RapidPro node would settle. */
export type StatusMsg = { payload: Status; ack?: string };
/** An MO from `<protocol>-in`; `Extra` is the protocol's own property (`ucp`, `cimd2`). */
export type MoMsg<Extra = unknown> = { payload: { from: string; to: string; text: string; date: string }; ack?: string } & Extra;

export const mt = (id: string, text = "Hello from RapidPro"): MT => ({ id, to: "+4790000001", from: "2020", text });
