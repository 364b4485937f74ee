import { timingSafeEqual } from "node:crypto";
import { sha256 } from "../text/sha256";

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

