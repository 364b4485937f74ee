/**
 * Sends MT to the bridge the way courier's EX channel does: POST to the Send URL with the
 * channel's Authorization header, every message with its own uuid, bodies alternating
 * between RapidPro's default urlencoded template and a JSON one (escaped as courier
 * escapes them, with the helpers of sim/courier), over many keep-alive connections.
 *
 * Closed loop by default (`connections` requests outstanding, the next one sent when one
 * is answered: the bridge sets the pace), or open loop at `rate` per second (sent on a
 * schedule whatever the bridge does, latency counted from the scheduled moment so a slow
 * reply cannot hide the requests queued behind it). Always bounded by count and deadline.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import { DEFAULT_SEND_BODY, jsonEscape, queryEscape } from "../sim/courier";
import { countError, now, Samples, type ErrorCounts } from "./stats";

export const JSON_SEND_BODY = '{"uuid":{{uuid}},"text":{{text}},"to":{{to}},"from":{{from}},"channel":{{channel}}}';

export interface MtLoadOptions {
  /** The bridge's Send URL, e.g. http://127.0.0.1:1880/rapidpro/send */
  url: string;
  authorization: string;
  channelUuid: string;
  count: number;
  connections: number;
  /** Open loop at this many requests per second; unset for closed loop. */
  rate?: number;
  /** Epoch ms after which nothing new is sent (outstanding requests still finish, within their timeout). */
  deadline: number;
  /** Told each message's uuid and send time (for matching its status calls later). */
  onSend?: (uuid: string, sentAt: number) => void;
  /** Where answered requests go; a new one when unset (a caller may watch its count live). */
  ok?: Samples;
}

export interface MtLoadResult {
  startedAt: number;
  sent: number;
  /** Answered 200: latency from send (or scheduled send) to the end of the reply. */
  ok: Samples;
  errors: ErrorCounts;
}

const REQUEST_TIMEOUT_MS = 30_000; // courier gives up on a send after 30 s

/** One message's request: method, headers and body as courier would build them. */
export function buildRequest(i: number, uuid: string, channelUuid: string): { body: string; contentType: string } {
  const values = {
    uuid,
    text: `Bench message ${i}: hello & welcome, reply +1 to stop`,
    to: `+2507883${String(i % 100_000).padStart(5, "0")}`,
    from: "2020",
    channel: channelUuid,
  };
  if (i % 2 === 0) {
    const v = { ...values, to_no_plus: values.to.slice(1), from_no_plus: values.from };
    return { body: render(DEFAULT_SEND_BODY, v, queryEscape), contentType: "application/x-www-form-urlencoded" };
  }
  return { body: render(JSON_SEND_BODY, values, jsonEscape), contentType: "application/json" };
}

function render(template: string, values: Record<string, string>, escape: (s: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => escape(values[name] ?? ""));
}

export async function runMtLoad(options: MtLoadOptions): Promise<MtLoadResult> {
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const ok = options.ok ?? new Samples(options.count);
  const errors: ErrorCounts = {};
  const startedAt = now();
  let sent = 0;

  /** Sends message `i`; resolves when it is answered or failed (never rejects). */
  const send = (i: number, scheduledAt: number) =>
    new Promise<void>((resolve) => {
      const uuid = randomUUID();
      const { body, contentType } = buildRequest(i, uuid, options.channelUuid);
      options.onSend?.(uuid, scheduledAt);
      let settled = false;
      const fail = (kind: string) => {
        if (settled) return;
        settled = true;
        countError(errors, kind);
        resolve();
      };
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: {
            "content-type": contentType,
            "content-length": Buffer.byteLength(body),
            authorization: options.authorization,
            "user-agent": "Courier/26.3",
          },
        },
        (res) => {
          res.resume(); // the body ("Accepted ...") is not needed, only its end
          res.on("end", () => {
            if (settled) return;
            if (res.statusCode !== 200) return fail(`http ${res.statusCode}`);
            settled = true;
            const t = now();
            ok.add(t - scheduledAt, t);
            resolve();
          });
          res.on("error", () => fail("response error"));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => {
        req.destroy();
        fail("timeout");
      });
      req.on("error", (error: NodeJS.ErrnoException) => fail(`network ${error.code ?? error.message}`));
      req.end(body);
    });

  try {
    if (options.rate) await openLoop(options, send, () => sent++);
    else {
      const lane = async () => {
        while (sent < options.count && Date.now() < options.deadline) {
          const i = sent++;
          await send(i, now());
        }
      };
      await Promise.all(Array.from({ length: options.connections }, lane));
    }
  } finally {
    agent.destroy();
  }
  return { startedAt, sent, ok, errors };
}

/** Sends on a schedule of `rate`/s, in small batches every 2 ms, until count or deadline. */
async function openLoop(
  options: MtLoadOptions,
  send: (i: number, scheduledAt: number) => Promise<void>,
  take: () => number,
): Promise<void> {
  const rate = options.rate!;
  const t0 = now();
  const outstanding = new Set<Promise<void>>();
  let i = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(options.count, Math.floor(((now() - t0) / 1000) * rate) + 1);
      for (; i < due; i++) {
        take();
        // The moment it should have left, so that a late timer counts against the bridge's latency too.
        const scheduledAt = t0 + (i / rate) * 1000;
        const p = send(i, scheduledAt).finally(() => outstanding.delete(p));
        outstanding.add(p);
      }
      if (i >= options.count || Date.now() >= options.deadline) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await Promise.all(outstanding);
}
