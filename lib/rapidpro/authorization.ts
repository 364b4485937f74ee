import crypto, { createHash, timingSafeEqual } from "node:crypto";

/**
 * A check of the Authorization header courier sends (the channel's `send_authorization`)
 * against the configured value, in constant time: both sides are compared as SHA-256 hashes,
 * so that neither the content nor the length of the secret leaks through timing. The
 * configured value is hashed once, here, not on every request.
 */
export function authorizationChecker(expected: string): (received: string | undefined) => boolean {
  const wanted = sha256(expected);
  return (received) => timingSafeEqual(sha256(received ?? ""), wanted) && received !== undefined;
}

export function authorizationMatches(received: string | undefined, expected: string): boolean {
  return authorizationChecker(expected)(received);
}

/** crypto.hash (Node 20.12 and later) hashes in one call, without a Hash object per request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "buffer") => Buffer }).hash;

function sha256(text: string): Buffer {
  return oneShot ? oneShot("sha256", text, "buffer") : createHash("sha256").update(text).digest();
}
