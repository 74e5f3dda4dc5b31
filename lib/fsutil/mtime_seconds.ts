/**
 * A file's mtime in whole seconds, rounded down as archive-format.md says. `mtimeMs` is a double: a time
 * of .9999999 s and more past a second reads as the next whole second (2020-01-01T00:00:00.999999999
 * was archived, and restored, as 00:00:01). Only a whole-second `mtimeMs` can be such a rounding, so only
 * then are the nanoseconds asked for.
 */
import { lstatSync, type Stats, statSync } from "node:fs";

/** `st`'s mtime in whole seconds; `path` is where `st` came from (`follow`: stat, else lstat). */
export function mtimeSeconds(st: Stats, path: string, follow = false): number {
  if (st.mtimeMs % 1000 !== 0) return Math.floor(st.mtimeMs / 1000);
  let ns: bigint;
  try {
    ns = (follow ? statSync(path, { bigint: true }) : lstatSync(path, { bigint: true })).mtimeNs;
  } catch {
    return st.mtimeMs / 1000; // gone meanwhile: pass two notices
  }
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}
