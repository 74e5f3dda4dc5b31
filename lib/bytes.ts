/**
 * Byte-array helpers for the few places that must hold a whole (small, bounded) body in memory:
 * a secret value, a test-sized LZ4 frame, one ~1 MiB piece of an SQL dump. Large bodies stream.
 */

import { concatBytes } from "./codec/concat_bytes.ts";

export { concatBytes };

/** Reads a whole stream into one array; only for bodies known to be small. */
export async function readAllBytes(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return concatBytes(parts);
}
