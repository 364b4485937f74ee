/**
 * Addresses between RapidPro and the aggregators, for every protocol.
 *
 * MT sender: courier's templates may carry no `from` (a GET template without `{{from}}`). The
 * out node's or account's default sender is used then; without one the MT goes with the
 * protocol's empty originator and the aggregator decides (SMPP allows an empty source_addr:
 * "the SMSC applies the account's default").
 *
 * MO sender: courier reads a number without `+` by the channel's country (reference
 * rapidpro-external-channel.md), so a foreign sender would become a wrong contact. Where the
 * aggregator says or implies the number is international (SMPP TON 1; Rapporto's `clientId`, the
 * subscriber's number in international format without `+`, e.g. `79161234567`), RapidPro gets it
 * in E.164, with `+`.
 */

/** E.164: at most 15 digits. */
const E164_DIGITS = /^[0-9]{1,15}$/;

/** The sender an MT goes with: its own `from`, else the configured default, else "" (the protocol's empty originator). */
export function mtOriginator(from: unknown, configured: string | undefined): string {
  const own = typeof from === "string" ? from.trim() : "";
  return own !== "" ? own : (configured ?? "").trim();
}

/** An MO's sender as RapidPro gets it: `+` before an international number's digits. */
export function moSender(address: string, international: boolean): string {
  const text = address.trim();
  return international && E164_DIGITS.test(text) ? `+${text}` : text;
}
