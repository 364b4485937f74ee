/**
 * SHA-256 of a string, for the per-request work (the Authorization check in
 * lib/rapidpro/authorization.ts, the text digest in lib/delivery/submissions.ts): crypto.hash
 * (Node 20.12 and later) hashes in one call, without a Hash object per request; older Node 20
 * releases, which the package's `engines` still allow, get createHash.
 */
import crypto, { createHash } from "node:crypto";

type OneShot = {
  (algorithm: string, data: string, encoding: "buffer"): Buffer;
  (algorithm: string, data: string, encoding: "base64url"): string;
};

const oneShot = (crypto as { hash?: OneShot }).hash;

export function sha256(text: string): Buffer;
export function sha256(text: string, encoding: "base64url"): string;
export function sha256(text: string, encoding?: "base64url"): Buffer | string {
  if (encoding) return oneShot ? oneShot("sha256", text, encoding) : createHash("sha256").update(text, "utf8").digest(encoding);
  return oneShot ? oneShot("sha256", text, "buffer") : createHash("sha256").update(text, "utf8").digest();
}
