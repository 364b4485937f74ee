/**
 * Reading a node's numeric settings, the same way in every node: the editor's fields arrive as
 * strings, and an empty one means "the default", not zero.
 */

/** A setting in seconds as ms: the fallback when empty or out of range (0 allowed where `zero` turns a timer off). */
export function seconds(value: unknown, fallback: number, zero = false): number {
  const n = Number(value);
  const set = String(value ?? "").trim() !== "" && Number.isFinite(n) && (zero ? n >= 0 : n > 0);
  return (set ? n : fallback) * 1000;
}

/** A positive number, or the fallback when empty, zero, negative or not a number. */
export function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A whole number from 1 to `max` (the fallback when empty), or the reason it is not one. */
export function countUpTo(name: string, value: unknown, fallback: number, max: number): number | { error: string } {
  const n = String(value ?? "").trim() === "" ? fallback : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : { error: `${name} "${String(value)}" is not 1 to ${max}` };
}
