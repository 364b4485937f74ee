import { randomBytes } from "node:crypto";

/**
 * UUID forms courier accepts. Both are lowercase only: courier's router and gocommon's
 * `uuids.Is` reject upper case.
 */

/** A channel UUID as courier's router matches it in `/c/ex/{uuid}/...` (web/server.go). */
const CHANNEL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A message UUID as gocommon `uuids.Is` checks it (versions 1 to 7, RFC 4122 variant). */
const MESSAGE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isChannelUuid(value: string): boolean {
  return CHANNEL_UUID.test(value);
}

export function isMessageUuid(value: string): boolean {
  return MESSAGE_UUID.test(value);
}

/**
 * A legacy integer message id, as courier sent `{{id}}` before v10.3.21: a positive integer
 * that fits RapidPro's bigint column (at most 19 digits, no leading zero).
 */
const MESSAGE_INTEGER_ID = /^[1-9][0-9]{0,18}$/;

/**
 * A message id in one of the two forms courier sends (reference rapidpro-external-channel.md
 * §3.2): the message UUID, or the integer id of older courier versions.
 */
export function isMessageId(value: string): boolean {
  return MESSAGE_UUID.test(value) || (MESSAGE_INTEGER_ID.test(value) && BigInt(value) <= 9223372036854775807n);
}

/**
 * A new time-ordered message UUID (version 7, RFC 9562 §5.7), the form courier has sent since
 * v10.1.20: 48 bits of Unix milliseconds, then random bits. Each call gives a fresh id, so a
 * simulator that plays RapidPro never repeats an id a store has already seen.
 */
export function newMessageUuid(nowMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  let ms = Math.floor(nowMs);
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (bytes[6] & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8] & 0x3f); // variant 10
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
