/**
 * UCP timestamps (aggregator-protocols.md §2.2): "`SCTS`/`DSCTS` = `DDMMYYhhmmss`; `VP`/`DDT` =
 * `DDMMYYhhmm`", in the SMSC's local time, which the frame does not state: the bind says
 * how far from UTC the SMSC's clock is.
 */

const two = (n: number) => String(n).padStart(2, "0");

/** Epoch ms as DDMMYYhhmm (VP, DDT) or DDMMYYhhmmss (SCTS, DSCTS) at a UTC offset. */
export function ucpTime(epochMs: number, utcOffsetMinutes: number, seconds: boolean): string {
  const d = new Date(epochMs + utcOffsetMinutes * 60_000);
  const text = `${two(d.getUTCDate())}${two(d.getUTCMonth() + 1)}${two(d.getUTCFullYear() % 100)}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`;
  return seconds ? text + two(d.getUTCSeconds()) : text;
}

/**
 * An SCTS/DSCTS (or VP/DDT) as ISO 8601 with the bind's zone, or undefined when it is not a
 * real date. Two-digit years are 2000-2099, as Kannel reads them.
 */
export function parseUcpTime(text: string, utcOffsetMinutes = 0): string | undefined {
  const match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(text);
  if (!match) return undefined;
  const [day, month, year, hour, minute, second = 0] = match.slice(1).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const utc = Date.UTC(2000 + year, month - 1, day, hour, minute, second);
  const check = new Date(utc);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const sign = utcOffsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(utcOffsetMinutes);
  const zone = utcOffsetMinutes === 0 ? "Z" : `${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
  return `${2000 + year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}${zone}`;
}
