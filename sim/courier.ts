/**
 * A stand-in for courier, RapidPro's gateway, written from the reference (not from our lib,
 * so that it checks our nodes rather than agreeing with them).
 *
 * - As a sender it sends MT the way courier's EX channel does: the message split by
 *   `max_length` bytes, each part one request, variables encoded for the content type.
 * - As a receiver it serves `/c/ex/<uuid>/receive|sent|delivered|failed|stopped` and applies
 *   courier's rules, so a wrong call fails here as it would in production.
 * - It fails on command (5xx, 429, slow, down) for fault tests.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

// ---------------------------------------------------------------------------------------------
// Sending MT (courier -> our endpoint)

export interface ExChannelConfig {
  /** Send URL; may contain {{variables}}, always query-escaped there. */
  sendUrl: string;
  method?: "GET" | "POST" | "PUT";
  /** urlencoded, json, xml, or any other string (a custom Content-Type, values not encoded). */
  contentType?: string;
  /** Body template; RapidPro's default when unset. */
  body?: string;
  maxLength?: number;
  authorization?: string;
  address?: string;
  channelUuid?: string;
  /** Courier's `S` encoding: smart quotes and dashes replaced when the result is GSM-7. */
  smartEncoding?: boolean;
}

export interface OutgoingMessage {
  uuid: string;
  to: string;
  text: string;
  quickReplies?: string[];
  sessionStatus?: string;
}

export interface PartResult {
  status: number;
  body: string;
  /** The request as sent, for assertions. */
  url: string;
  requestBody?: string;
}

/** RapidPro's CONFIG_DEFAULT_SEND_BODY (temba/channels/types/external/type.py). */
export const DEFAULT_SEND_BODY =
  "uuid={{uuid}}&text={{text}}&to={{to}}&to_no_plus={{to_no_plus}}&from={{from}}&from_no_plus={{from_no_plus}}&channel={{channel}}";

const CONTENT_TYPES: Record<string, string> = {
  urlencoded: "application/x-www-form-urlencoded",
  json: "application/json",
  xml: "text/xml; charset=utf-8",
};

/** Go's url.QueryEscape: space as +, everything but A-Z a-z 0-9 - _ . ~ percent-encoded. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Go's json.Marshal of a string: HTML-escaping on, U+2028/2029 escaped, non-ASCII raw. */
export function jsonEscape(value: string): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Go's xml.EscapeText. */
export function xmlEscape(value: string): string {
  const table: Record<string, string> = {
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;",
  };
  return value.replace(/[&<>"'\t\n\r]/g, (c) => table[c]);
}

/** Courier's SplitText: parts of at most `max` UTF-8 bytes, soft cut at a space in the last 5 bytes. */
export function splitText(text: string, max: number): string[] {
  if (Buffer.byteLength(text) <= max) return [text];
  const parts: string[] = [];
  let buffer = "";
  for (const rune of text) {
    buffer += rune;
    const length = Buffer.byteLength(buffer);
    if (length === max || (length > max - 6 && rune === " ")) {
      parts.push(buffer.trim());
      buffer = "";
    }
  }
  if (buffer.trim() !== "") parts.push(buffer.trim());
  return parts;
}

const SMART: Record<string, string> = { "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u00a0": " ", "\t": " " };

function render(template: string, values: Record<string, string>): string {
  let out = template;
  for (const [name, value] of Object.entries(values)) out = out.split(`{{${name}}}`).join(value);
  return out;
}

/** Sends one message the way courier does; stops at the first part that is not 2xx. */
export async function sendMt(config: ExChannelConfig, message: OutgoingMessage): Promise<PartResult[]> {
  const method = config.method ?? "POST";
  const type = config.contentType ?? "urlencoded";
  const headerType = CONTENT_TYPES[type] ?? type;
  const address = config.address ?? "2020";
  const parts = splitText(message.text, config.maxLength ?? 160);
  const results: PartResult[] = [];
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    let text = parts[i];
    if (config.smartEncoding) text = text.replace(/[\u2019\u2018\u201c\u201d\u2013\u00a0\t]/g, (c) => SMART[c]);
    const raw: Record<string, string> = {
      id: message.uuid,
      uuid: message.uuid,
      text,
      to: message.to,
      to_no_plus: message.to.replace(/^\+/, ""),
      from: address,
      from_no_plus: address.replace(/^\+/, ""),
      channel: config.channelUuid ?? "8eb23e93-5ecb-45ba-b726-3b064e0c56ab",
      session_status: message.sessionStatus ?? "",
    };
    const replies = last ? message.quickReplies ?? [] : [];
    const urlValues = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, queryEscape(v)]));
    urlValues.quick_replies = replies.map((r) => `&quick_reply=${queryEscape(r)}`).join("");
    const url = render(config.sendUrl, urlValues);

    let requestBody: string | undefined;
    if (method !== "GET") {
      const template = config.body ?? DEFAULT_SEND_BODY;
      let bodyValues: Record<string, string>;
      if (type === "json") {
        bodyValues = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, jsonEscape(v)]));
        bodyValues.quick_replies = `[${replies.map((r) => JSON.stringify(r)).join(",")}]`;
      } else if (type === "xml") {
        bodyValues = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, xmlEscape(v)]));
        bodyValues.quick_replies = replies.map((r) => `<item>${xmlEscape(r)}</item>`).join("");
      } else if (type === "urlencoded") {
        bodyValues = { ...urlValues };
      } else {
        bodyValues = { ...raw, quick_replies: replies.map((r) => `&quick_reply=${queryEscape(r)}`).join("") };
      }
      requestBody = render(template, bodyValues);
    }
    const headers: Record<string, string> = { "content-type": headerType, "user-agent": "Courier/26.3" };
    if (config.authorization) headers.authorization = config.authorization;
    const res = await fetch(url, { method, headers, body: requestBody });
    const result = { status: res.status, body: await res.text(), url, requestBody };
    results.push(result);
    if (res.status < 200 || res.status > 299) break;
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Receiving calls (our nodes -> courier)

export type CourierMode = "ok" | "error500" | "throttle429" | "slow" | "down";

export interface ReceivedCall {
  action: "receive" | "sent" | "delivered" | "failed" | "stopped";
  params: Record<string, string>;
  at: number;
}

/** A call as a line to print: its action and decoded parameters (`text="Привет"`, not form encoding). */
export function describeCall(call: Pick<ReceivedCall, "action" | "params">): string {
  const params = Object.entries(call.params).map(([name, value]) => `${name}=${/^[\w+:.-]*$/.test(value) ? value : JSON.stringify(value)}`);
  return [call.action, ...params].join(" ");
}

export interface CourierSim {
  url: string;
  port: number;
  /** Calls courier accepted (answered 200). */
  accepted: ReceivedCall[];
  /** Calls refused with the reason courier would give. */
  refused: Array<{ path: string; status: number; error: string }>;
  /** Requests seen in total, answered or not. */
  requests: number;
  /** TCP connections opened to the simulator in total. */
  connections: number;
  setMode(mode: CourierMode, slowMs?: number): void;
  /** Resolves when `count` calls have been accepted, or rejects after `timeoutMs`. */
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface CourierSimOptions {
  port?: number;
  channelUuid: string;
  /** Accept integer ids on status routes, as courier did before October 2025. */
  legacyIds?: boolean;
  /** Told about each accepted call as it is answered (the benchmark times calls with it). */
  onAccepted?: (call: ReceivedCall) => void;
  /**
   * Keep accepted calls in `accepted` (default true). Off, `accepted` stays empty and only
   * `onAccepted` sees them, so that a long benchmark does not fill the simulator's memory.
   */
  keepCalls?: boolean;
}

const ACTION = /^\/c\/ex\/([^/]+)\/([a-z]+)\/?$/;
const CHANNEL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MESSAGE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export async function startCourier(options: CourierSimOptions): Promise<CourierSim> {
  let mode: CourierMode = "ok";
  let slowMs = 2000;
  const accepted: ReceivedCall[] = [];
  const refused: CourierSim["refused"] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<import("node:net").Socket>();
  let requests = 0;
  let connections = 0;

  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (mode === "down") {
        req.socket.destroy();
        return;
      }
      const answer = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload) + "\n");
      };
      if (mode === "error500") return answer(500, { message: "Internal Server Error" });
      if (mode === "throttle429") return answer(429, { message: "Too Many Requests" });
      const handle = () => {
        const outcome = judge(req.method ?? "", req.url ?? "", String(req.headers["content-type"] ?? ""), body, options);
        if ("error" in outcome) {
          refused.push({ path: req.url ?? "", status: outcome.status, error: outcome.error });
          return answer(outcome.status, { message: "Error", data: [{ type: "error", error: outcome.error }] });
        }
        const call = { ...outcome.call, at: Date.now() };
        if (options.keepCalls !== false) accepted.push(call);
        options.onAccepted?.(call);
        for (const wake of waiters) wake();
        answer(200, { message: "Accepted", data: [{ type: outcome.call.action === "receive" ? "msg" : "status" }] });
      };
      if (mode === "slow") setTimeout(handle, slowMs);
      else handle();
    });
  });
  server.on("connection", (s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // A busy port rejects (EADDRINUSE) instead of crashing the process with an unhandled 'error'.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => (server.off("error", reject), resolve()));
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    refused,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    setMode(next, ms) {
      mode = next;
      if (ms !== undefined) slowMs = ms;
    },
    waitForAccepted(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        if (accepted.length >= count) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`courier sim: ${accepted.length} of ${count} calls accepted after ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (accepted.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

type Judgement = { call: Omit<ReceivedCall, "at"> } | { status: number; error: string };

/** Courier's rules for EX incoming calls (reference §2). */
function judge(method: string, url: string, contentType: string, body: string, options: CourierSimOptions): Judgement {
  const [path, query = ""] = url.split("?");
  const match = ACTION.exec(path);
  if (!match || !CHANNEL_UUID.test(match[1])) return { status: 404, error: `not found: ${url}` };
  const action = match[2] as ReceivedCall["action"];
  if (!["receive", "sent", "delivered", "failed", "stopped"].includes(action)) return { status: 404, error: `not found: ${url}` };
  if (method !== "GET" && method !== "POST") return { status: 405, error: `method not allowed: ${method}` };
  if (match[1] !== options.channelUuid) return { status: 400, error: "channel not found" };

  // Go's Request.Form: the query plus an urlencoded body; JSON and untyped bodies are ignored.
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] ??= v;
  if (method === "POST" && contentType.split(";")[0].trim() === "application/x-www-form-urlencoded") {
    for (const [k, v] of new URLSearchParams(body)) params[k] = v;
  }

  if (action === "receive") {
    const from = params.from ?? params.sender;
    if (!from) return { status: 400, error: "must have one of 'sender' or 'from' set" };
    if (from.startsWith(" ")) return { status: 400, error: "sender starts with a space: '+' was sent unencoded (use %2B)" };
    if (params.date && !RFC3339.test(params.date)) return { status: 400, error: "invalid date format, must be RFC 3339" };
    return { call: { action, params } };
  }
  if (action === "stopped") {
    if (!params.from) return { status: 400, error: "field 'from' required" };
    return { call: { action, params } };
  }
  const id = params.id ?? "";
  const uuid = params.uuid ?? "";
  if (!id && !uuid) return { status: 400, error: "parameters id or uuid should not be empty" };
  const legacy = options.legacyIds && /^\d+$/.test(id);
  if (!legacy && !MESSAGE_UUID.test(uuid) && !MESSAGE_UUID.test(id)) {
    return { status: 400, error: `parsing failed: id '${id}' and uuid '${uuid}' are not valid UUIDs` };
  }
  return { call: { action, params } };
}
