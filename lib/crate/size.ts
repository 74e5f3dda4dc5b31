/**
 * Byte sizes as written in crates (`min_free_space: 1G`). Units are binary, like `df -h`: K = 1024,
 * M = 1024², G = 1024³, T = 1024⁴; an optional `B` or `iB` suffix is accepted; a bare number is bytes.
 */

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };
const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?$/;

/** Parses `1G`, `500M`, `1.5GiB`, `4096`; returns null when `text` is not a size. */
export function parseSize(text: string | number): number | null {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? Math.floor(text) : null;
  const m = SIZE.exec(text.trim().toUpperCase());
  if (!m) return null;
  return Math.floor(Number(m[1]) * UNITS[m[2]]);
}

/** Formats a byte count for people, e.g. `1.5G`. */
export function formatSize(bytes: number): string {
  for (const unit of ["P", "T", "G", "M", "K"]) {
    const n = bytes / UNITS[unit];
    if (n >= 1) return `${Number(n.toFixed(1))}${unit}`;
  }
  return `${bytes}B`;
}
