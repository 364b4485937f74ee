/**
 * The bridge's one HTTP client, over Node's own http/https with keep-alive agents: it sends
 * thousands of requests a second to a handful of hosts (courier, Rapporto), so connections
 * must be reused.
 *
 * It resolves with any HTTP status and rejects only with an HttpTransportError, which says
 * whether the request certainly never left this machine: that decides whether sending it
 * again is safe. Messages never hold the URL, which may carry a password.
 */
import http from "node:http";
import https from "node:https";

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole-request timeout, ms. */
  timeoutMs?: number;
  /** Largest reply accepted, bytes; a larger one is an error (default 64 KiB). */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A transport failure: no complete HTTP reply was received. */
export class HttpTransportError extends Error {
  constructor(
    message: string,
    /** The system error code (ECONNREFUSED, …) or one of "timeout", "reply", "network", "url". */
    readonly code: string,
    /** True when the request certainly never reached the server, so sending it again is safe. */
    readonly notSent: boolean,
  ) {
    super(message);
    this.name = "HttpTransportError";
  }
}

/** Network errors raised before the request left this machine. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

export interface AgentOptions {
  /** Sockets per host; requests beyond wait in the agent's queue. */
  maxSockets?: number;
  /** Verify TLS certificates (default true). */
  rejectUnauthorized?: boolean;
}

export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(options: AgentOptions = {}) {
    const common = { keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: "lifo" as const };
    this.httpAgent = new http.Agent(common);
    this.httpsAgent = new https.Agent({ ...common, rejectUnauthorized: options.rejectUnauthorized ?? true });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return Promise.reject(new HttpTransportError("invalid URL", "url", true));
    }
    const isHttps = url.protocol === "https:";
    if (!isHttps && url.protocol !== "http:") return Promise.reject(new HttpTransportError(`unsupported protocol ${url.protocol}`, "url", true));
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
    const limit = req.maxResponseBytes ?? 64 * 1024;
    const timeoutMs = req.timeoutMs ?? 30_000;

    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        return true;
      };
      const fail = (err: HttpTransportError): void => {
        if (!finish()) return;
        outgoing.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new HttpTransportError(`no reply within ${timeoutMs} ms`, "timeout", false)), timeoutMs);
      const outgoing = (isHttps ? https : http).request(
        url,
        { method: req.method ?? "GET", headers, agent: isHttps ? this.httpsAgent : this.httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > limit) fail(new HttpTransportError(`reply larger than ${limit} bytes`, "reply", false));
            else chunks.push(chunk);
          });
          res.on("end", () => {
            if (finish()) resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", (err) => fail(new HttpTransportError(`reply broken off: ${err.message}`, "network", false)));
          res.on("close", () => {
            if (!res.complete) fail(new HttpTransportError("reply broken off", "network", false));
          });
        },
      );
      outgoing.on("error", (err: NodeJS.ErrnoException) => {
        const code = err.code ?? "network";
        fail(new HttpTransportError(`request failed: ${code}`, code, NOT_SENT.has(code)));
      });
      outgoing.end(req.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
