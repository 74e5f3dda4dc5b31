/**
 * LZ4 frames (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) as web TransformStreams.
 *
 * Writing: one frame with the options Litestream v0.3.13 (pierrec/lz4 v4 `NewWriter` defaults) uses:
 * version 1, independent blocks, no block checksums, content checksum (xxHash32), no content size,
 * block maximum 4 MiB — FLG 0x64, BD 0x70. Memory is at most one input block plus one output block.
 *
 * Reading lives in lz4_frame_reader.ts and is re-exported here, so callers import one module.
 */
import { BlockCompressor, compressBound } from "./lz4_block.ts";
import { LZ4_BLOCK_SIZES, LZ4_FRAME_MAGIC, lz4DecompressStream } from "./lz4_frame_reader.ts";
import { Xxh32, xxh32 } from "../xxh32/xxh32.ts";

export { LZ4_BLOCK_SIZES, LZ4_FRAME_MAGIC, lz4DecompressStream };

/** One compressor for every stream: compress() is synchronous, so streams never interleave in it. */
const sharedCompressor = new BlockCompressor();
/** First input buffer size; it doubles up to the block maximum, so small WAL segments stay small. */
const INITIAL_INPUT = 64 * 1024;

/** Options of {@link lz4CompressStream}. Defaults reproduce Litestream's frames. */
export interface Lz4WriteOptions {
  /** Block maximum size index: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB (default). */
  blockSizeIndex?: 4 | 5 | 6 | 7;
  /** Append an xxHash32 of the content (default true, as Litestream). */
  contentChecksum?: boolean;
}

/** The 7-byte frame header for the given options. */
export function frameHeader(blockSizeIndex: number, contentChecksum: boolean): Uint8Array {
  const h = new Uint8Array(7);
  new DataView(h.buffer).setUint32(0, LZ4_FRAME_MAGIC, true);
  h[4] = 0x40 | 0x20 | (contentChecksum ? 0x04 : 0); // version 01, block independence
  h[5] = blockSizeIndex << 4;
  h[6] = (xxh32(h.subarray(4, 6)) >>> 8) & 0xff;
  return h;
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/**
 * A TransformStream compressing its input into one LZ4 frame. Input chunks of any size are gathered
 * into blocks of the maximum size; an empty input still yields a valid (empty) frame.
 */
export function lz4CompressStream(opts: Lz4WriteOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  const bsi = opts.blockSizeIndex ?? 7;
  const checksum = opts.contentChecksum ?? true;
  const blockMax = LZ4_BLOCK_SIZES[bsi];
  let input = new Uint8Array(Math.min(INITIAL_INPUT, blockMax));
  const hash = new Xxh32();
  let fill = 0;
  let headerSent = false;
  // One scratch buffer per stream; each block leaves it as an exact-size copy, so the garbage per
  // block is its compressed size, not the worst-case bound (peak RSS of a replicator's snapshot).
  let out = new Uint8Array(0);

  const emitBlock = (ctl: TransformStreamDefaultController<Uint8Array>) => {
    if (fill === 0) return;
    const data = input.subarray(0, fill);
    if (checksum) hash.update(data);
    if (out.length < 4 + compressBound(fill)) out = new Uint8Array(4 + compressBound(input.length));
    const n = sharedCompressor.compress(input, 0, fill, out.subarray(4));
    let chunk: Uint8Array;
    if (n < 0) {
      chunk = new Uint8Array(4 + fill);
      new DataView(chunk.buffer).setUint32(0, (fill | 0x80000000) >>> 0, true);
      chunk.set(data, 4);
    } else {
      new DataView(out.buffer).setUint32(0, n, true);
      chunk = out.slice(0, 4 + n);
    }
    fill = 0;
    ctl.enqueue(chunk);
  };
  const sendHeader = (ctl: TransformStreamDefaultController<Uint8Array>) => {
    if (headerSent) return;
    headerSent = true;
    ctl.enqueue(frameHeader(bsi, checksum));
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      sendHeader(ctl);
      let i = 0;
      while (i < chunk.length) {
        if (fill === input.length && input.length < blockMax) {
          const bigger = new Uint8Array(Math.min(input.length * 2, blockMax));
          bigger.set(input.subarray(0, fill));
          input = bigger;
        }
        const take = Math.min(input.length - fill, chunk.length - i);
        input.set(chunk.subarray(i, i + take), fill);
        fill += take;
        i += take;
        if (fill === blockMax) emitBlock(ctl);
      }
    },
    flush(ctl) {
      sendHeader(ctl);
      emitBlock(ctl);
      const tail = new Uint8Array(checksum ? 8 : 4);
      if (checksum) tail.set(u32le(hash.digest()), 4);
      ctl.enqueue(tail);
    },
  });
}

/** Compresses a whole buffer into one frame (for small bodies and tests). */
export async function lz4CompressBytes(data: Uint8Array, opts: Lz4WriteOptions = {}): Promise<Uint8Array> {
  return await readAll(ReadableStream.from([data]).pipeThrough(lz4CompressStream(opts)));
}

/** Decompresses a whole buffer of frames (for small bodies and tests). */
export async function lz4DecompressBytes(data: Uint8Array, name?: string): Promise<Uint8Array> {
  return await readAll(ReadableStream.from([data]).pipeThrough(lz4DecompressStream(name)));
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
