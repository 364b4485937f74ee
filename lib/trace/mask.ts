/**
 * Phone numbers in the trace are shown masked unless the user asks: the country code and the
 * last two digits stay, enough to tell numbers apart on a screen without showing them.
 */
import type { TraceEvent } from "./event";

export function digitsOf(phone: string): string {
  return phone.replace(/\D/g, "");
}

/** "+447911123456" → "+447•••••••56"; a short code keeps its last digit only. */
export function maskPhone(phone: string): string {
  const prefix = phone.trim().startsWith("+") ? "+" : "";
  const digits = digitsOf(phone);
  if (digits.length === 0) return phone ? "•••" : "";
  if (digits.length <= 5) return prefix + "•".repeat(digits.length - 1) + digits.slice(-1);
  return prefix + digits.slice(0, 3) + "•".repeat(digits.length - 5) + digits.slice(-2);
}

/** The events as the admin API gives them: numbers masked unless `unmask`. */
export function presentEvents(events: readonly TraceEvent[], unmask: boolean): TraceEvent[] {
  return events.map((e) => (e.phone && !unmask ? { ...e, phone: maskPhone(e.phone) } : { ...e }));
}
