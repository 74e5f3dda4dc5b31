/**
 * Byte-array helpers for the few places that must hold a whole (small, bounded) body in memory:
 * a secret value, a test-sized LZ4 frame, one ~1 MiB piece of an SQL dump. Large bodies stream.
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

/** Reads a whole stream into one array; only for bodies known to be small. */
export async function readAllBytes(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return concatBytes(parts);
}
