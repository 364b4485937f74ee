/**
 * Local wall-clock times to ISO 8601 with zone, using only Intl (no time-zone library).
 * Rapporto's `receivedDate` is `YYYY-MM-DD HH:MM:SS` with no zone; the MO contract wants
 * an instant, so the account says which zone the provider's clock is in.
 */
import { quoted } from "../text/peer-value";

const FIXED_OFFSET = /^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Throws a clear error when the zone is neither an IANA name nor a fixed `±hh:mm` offset. */
export function checkTimeZone(zone: string): void {
  if (FIXED_OFFSET.test(zone)) return;
  try {
    formatter(zone);
  } catch {
    throw new Error(`unknown time zone ${quoted(zone)} (use an IANA name such as Europe/Moscow, or ±hh:mm)`);
  }
}

/** Offset of the zone from UTC at an instant, in minutes east. */
export function offsetMinutes(zone: string, epochMs: number): number {
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed) return (fixed[1] === "-" ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epochMs))) parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/**
 * `2009-10-02 12:00:00` in `Europe/Moscow` → `2009-10-02T12:00:00+04:00`. In the hour a
 * clock skips the offset after the jump is used; in the hour it repeats, the first occurrence.
 * Throws with the reason when the text is not a real date and time.
 */
export function localToIso(local: string, zone: string): string {
  const m = LOCAL.exec(local);
  if (!m) throw new Error(`date is not YYYY-MM-DD HH:MM:SS: ${quoted(local)}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new Error(`date does not exist: ${quoted(local)}`);
  }
  // Near a transition the offset a day before and a day after differ; the right one maps
  // back to the same wall time. Both do in a repeated hour (take the first occurrence),
  // neither does in a skipped hour (take the offset in force after the jump).
  const candidates = [offsetMinutes(zone, wall - DAY_MS), offsetMinutes(zone, wall + DAY_MS)];
  const fits = candidates.filter((o) => offsetMinutes(zone, wall - o * 60_000) === o);
  const offset = fits.length > 0 ? Math.max(...fits) : candidates[1];
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${formatOffset(offset)}`;
}
