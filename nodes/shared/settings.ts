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
