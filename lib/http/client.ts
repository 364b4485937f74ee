/**
 * A small HTTP client over Node's own http/https with keep-alive agents: the bridge sends
 * thousands of requests a second to a handful of hosts, so connections must be reused.
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
  /** Largest response body kept, bytes; the rest is read and dropped. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A transport failure: no HTTP status was received (refused, reset, timeout, DNS). */
export class HttpTransportError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = "HttpTransportError";
  }
}

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
    return new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        reject(new HttpTransportError(`invalid URL`, "EINVALIDURL"));
        return;
      }
      const isHttps = url.protocol === "https:";
      if (!isHttps && url.protocol !== "http:") {
        reject(new HttpTransportError(`unsupported protocol ${url.protocol}`, "EPROTOCOL"));
        return;
      }
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
      const limit = req.maxResponseBytes ?? 64 * 1024;
      const outgoing = (isHttps ? https : http).request(
        url,
        { method: req.method ?? "GET", headers, agent: isHttps ? this.httpsAgent : this.httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            if (size < limit) chunks.push(chunk.subarray(0, limit - size));
            size += chunk.length;
          });
          res.on("end", () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", (err) => fail(err));
        },
      );
      const fail = (err: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(err instanceof HttpTransportError ? err : new HttpTransportError(err.message, err.code ?? "EHTTP"));
      };
      const timer = setTimeout(() => {
        outgoing.destroy(new HttpTransportError(`no response within ${req.timeoutMs} ms`, "ETIMEDOUT"));
      }, req.timeoutMs ?? 30_000);
      outgoing.on("error", fail);
      outgoing.end(req.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
