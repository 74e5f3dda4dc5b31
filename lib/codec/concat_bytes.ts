/**
 * Joining byte arrays, for the few places that must hold a whole (small, bounded) body in memory. Here in
 * lib/codec because the codecs need it and import nothing of ours from outside; lib/bytes.ts re-exports it.
 */

/** Concatenates `parts` into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
