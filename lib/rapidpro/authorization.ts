import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares the Authorization header courier sent (the channel's `send_authorization`) with the
 * configured value in constant time: both sides are hashed first so that neither the content
 * nor the length of the secret leaks through timing.
 */
export function authorizationMatches(received: string | undefined, expected: string): boolean {
  const a = createHash("sha256").update(received ?? "").digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && received !== undefined;
}
