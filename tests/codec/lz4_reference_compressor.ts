/**
 * The TypeScript LZ4 block compressor that lib/ used until stop 25, kept as the reference the WebAssembly
 * compressor (lib/codec/lz4/lz4_encode.wat) must equal byte for byte: the classic single-pass greedy
 * matcher with a 64 Ki-entry hash of 4-byte sequences and LZ4's "skip faster over incompressible data"
 * heuristic, honouring the format's end-of-block rules (the last 5 bytes are literals, no match starts in
 * the last 12).
 */

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_LOG = 16;
const MAX_OFFSET = 65535;
/** Input shorter than this is stored as one literal run (no match can fit the end-of-block rules). */
const MIN_INPUT_FOR_MATCH = MF_LIMIT + 1;
const SKIP_TRIGGER = 6;

/** Largest size a block of `n` input bytes can compress to (the worst case adds a little). */
export function compressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/**
 * Reusable compressor state: the hash table of recent positions. Entries are stored with a running
 * bias instead of clearing the 256 KiB table for every block, because WAL segments are often a few
 * KiB and clearing would cost more than compressing them.
 */
export class BlockCompressor {
  #table = new Int32Array(1 << HASH_LOG);
  /** Every entry below this value belongs to an earlier block. */
  #next = 1;

  /**
   * Compresses `src[start, end)` into `dst` from offset 0, independently of any earlier data.
   * Returns the compressed length, or -1 when the result would not be smaller than the input
   * (the caller then stores the block uncompressed). `dst` must hold {@link compressBound} bytes.
   */
  compress(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
    const n = end - start;
    if (n < MIN_INPUT_FOR_MATCH) return finish(src, start, end, dst, 0, n);
    const table = this.#table;
    if (this.#next + n >= 0x7fff0000) {
      table.fill(0);
      this.#next = 1;
    }
    const valid = this.#next;
    const bias = valid - start; // stored = position + bias; stored >= valid <=> from this block
    this.#next += n + 1;
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const mfLimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let anchor = start;
    let ip = start;
    let op = 0;
    while (ip < mfLimit) {
      // Find a match: probe the hash of the 4 bytes at ip, stepping faster the longer we miss.
      let searchHits = 1 << SKIP_TRIGGER;
      let ref: number;
      while (true) {
        const seq = dv.getInt32(ip, true);
        const h = Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_LOG);
        const stored = table[h];
        table[h] = ip + bias;
        ref = stored - bias;
        if (stored >= valid && ip - ref <= MAX_OFFSET && dv.getInt32(ref, true) === seq) break;
        ip += searchHits++ >> SKIP_TRIGGER;
        if (ip >= mfLimit) return finish(src, anchor, end, dst, op, n);
      }
      // Extend backwards over literals that also match.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      // Extend forwards, four bytes at a time while they fit.
      let len = MIN_MATCH;
      while (ip + len + 4 <= matchLimit && dv.getInt32(ip + len, true) === dv.getInt32(ref + len, true)) {
        len += 4;
      }
      while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      op = writeSequence(src, anchor, ip - anchor, ip - ref, len, dst, op);
      if (op > n) return -1;
      ip += len;
      anchor = ip;
      if (ip < mfLimit) {
        // Index a position inside the match so the next probe can find nearby repeats.
        const p = ip - 2;
        table[Math.imul(dv.getInt32(p, true), 0x9e3779b1) >>> (32 - HASH_LOG)] = p + bias;
      }
    }
    return finish(src, anchor, end, dst, op, n);
  }
}

function writeLength(dst: Uint8Array, op: number, rest: number): number {
  while (rest >= 255) {
    dst[op++] = 255;
    rest -= 255;
  }
  dst[op++] = rest;
  return op;
}

function copyBytes(src: Uint8Array, from: number, len: number, dst: Uint8Array, op: number): void {
  if (len > 32) dst.set(src.subarray(from, from + len), op);
  else for (let i = 0; i < len; i++) dst[op + i] = src[from + i];
}

function writeSequence(
  src: Uint8Array,
  litStart: number,
  litLen: number,
  offset: number,
  matchLen: number,
  dst: Uint8Array,
  op: number,
): number {
  const ml = matchLen - MIN_MATCH;
  const tokenPos = op++;
  let token = (litLen >= 15 ? 15 : litLen) << 4;
  if (litLen >= 15) op = writeLength(dst, op, litLen - 15);
  copyBytes(src, litStart, litLen, dst, op);
  op += litLen;
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  token |= ml >= 15 ? 15 : ml;
  if (ml >= 15) op = writeLength(dst, op, ml - 15);
  dst[tokenPos] = token;
  return op;
}

// The final sequence: literals only. Returns -1 when the block did not shrink.
function finish(
  src: Uint8Array,
  anchor: number,
  end: number,
  dst: Uint8Array,
  op: number,
  n: number,
): number {
  const litLen = end - anchor;
  if (op + 1 + Math.floor((litLen + 240) / 255) + litLen >= n) return -1;
  dst[op++] = (litLen >= 15 ? 15 : litLen) << 4;
  if (litLen >= 15) op = writeLength(dst, op, litLen - 15);
  copyBytes(src, anchor, litLen, dst, op);
  return op + litLen;
}
