/** An HTTP answer as the protocol cores decide it; the node layer writes it to the socket. */
export interface HttpReply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

export function jsonReply(status: number, body: unknown): HttpReply {
  return { status, body: JSON.stringify(body), contentType: "application/json" };
}

export function textReply(status: number, body: string): HttpReply {
  return { status, body, contentType: "text/plain; charset=utf-8" };
}
