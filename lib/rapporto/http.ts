/**
 * One HTTP request with a time limit and a bounded reply, over Node's http/https and a
 * keep-alive agent. Errors say whether the request can have reached the server, because that
 * decides whether sending it again is safe.
 */
import http from "node:http";
import https from "node:https";

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RawReply {
  status: number;
  body: string;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** True when the request certainly never reached the server. */
    readonly notSent: boolean,
  ) {
    super(message);
  }
}

/** Network errors raised before the request left this machine. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/** Resolves with any HTTP status; rejects only with a TransportError, whose message never holds the URL (it may carry a password). */
export function httpRequest(request: HttpRequest, agent: http.Agent, timeoutMs: number, maxReplyBytes: number): Promise<RawReply> {
  const lib = request.url.startsWith("https:") ? https : http;
  return new Promise<RawReply>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      return true;
    };
    const timer = setTimeout(() => fail(new TransportError(`no reply within ${timeoutMs} ms`, "timeout", false)), timeoutMs);
    const fail = (err: TransportError): void => {
      if (!finish()) return;
      req.destroy();
      reject(err);
    };
    const req = lib.request(request.url, { method: request.method, headers: request.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxReplyBytes) fail(new TransportError(`reply larger than ${maxReplyBytes} bytes`, "reply", false));
        else chunks.push(chunk);
      });
      res.on("end", () => {
        if (finish()) resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", (err) => fail(new TransportError(`reply broken off: ${err.message}`, "network", false)));
      res.on("close", () => {
        if (!res.complete) fail(new TransportError("reply broken off", "network", false));
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const code = err.code ?? "network";
      fail(new TransportError(`request failed: ${code}`, code, NOT_SENT.has(code)));
    });
    req.end(request.body);
  });
}
