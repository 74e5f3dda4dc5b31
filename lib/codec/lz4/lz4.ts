/**
 * LZ4 frames (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) as web TransformStreams,
 * and small frames compressed whole in memory.
 *
 * Writing: one frame with the options Litestream v0.3.13 (pierrec/lz4 v4 `NewWriter` defaults) uses:
 * version 1, independent blocks, no block checksums, content checksum (xxHash32), no content size,
 * block maximum 4 MiB — FLG 0x64, BD 0x70. Memory is at most one input block plus one output block.
 *
 * Reading lives in lz4_frame_reader.ts and is re-exported here, so callers import one module.
 */
import { concatBytes } from "../concat_bytes.ts";
import { blockCompressInput, compressBlockView } from "./lz4_encode_wasm.ts";
import { LZ4_BLOCK_SIZES, LZ4_FRAME_MAGIC, lz4DecompressStream } from "./lz4_frame_reader.ts";
import { Xxh32, xxh32 } from "../xxh32/xxh32.ts";

export { LZ4_BLOCK_SIZES, LZ4_FRAME_MAGIC, lz4DecompressStream };

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

/** The pieces of one frame, in order: {@link header}, one {@link block} per input block, {@link end}. */
export class Lz4FrameEncoder {
  /** Largest input one block may take. */
  readonly blockMax: number;
  readonly #bsi: number;
  readonly #hash: Xxh32 | null;

  constructor(opts: Lz4WriteOptions = {}) {
    this.#bsi = opts.blockSizeIndex ?? 7;
    // The type allows no other value, but untyped JavaScript can pass one: a block of no size would then
    // be filled forever (a busy loop), so it is refused here, before any input.
    if (!Object.hasOwn(LZ4_BLOCK_SIZES, this.#bsi)) {
      throw new RangeError(`lz4: blockSizeIndex must be 4, 5, 6 or 7, got ${String(this.#bsi)}`);
    }
    this.blockMax = LZ4_BLOCK_SIZES[this.#bsi];
    this.#hash = (opts.contentChecksum ?? true) ? new Xxh32() : null;
  }

  header(): Uint8Array {
    return frameHeader(this.#bsi, this.#hash !== null);
  }

  /**
   * One block of `data` (1 to {@link blockMax} bytes): compressed, or stored when that is not smaller. It
   * leaves as an exact-size copy, so the garbage per block is its compressed size, not the worst case.
   */
  block(data: Uint8Array): Uint8Array {
    this.#hash?.update(data);
    const packed = compressBlockView(data);
    const body = packed ?? data;
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, packed ? body.length : (body.length | 0x80000000) >>> 0, true);
    out.set(body, 4);
    return out;
  }

  /** The end mark, followed by the content checksum when enabled. */
  end(): Uint8Array {
    const tail = new Uint8Array(this.#hash ? 8 : 4);
    if (this.#hash) tail.set(u32le(this.#hash.digest()), 4);
    return tail;
  }
}

/**
 * A TransformStream compressing its input into one LZ4 frame. Input chunks of any size are gathered
 * into blocks of the maximum size; an empty input still yields a valid (empty) frame. Memory is at most
 * one input block plus one output block.
 */
export function lz4CompressStream(opts: Lz4WriteOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  const enc = new Lz4FrameEncoder(opts);
  const blockMax = enc.blockMax;
  let input = new Uint8Array(Math.min(INITIAL_INPUT, blockMax));
  let fill = 0;
  let headerSent = false;

  const emitBlock = (ctl: TransformStreamDefaultController<Uint8Array>) => {
    if (fill === 0) return;
    ctl.enqueue(enc.block(input.subarray(0, fill)));
    fill = 0;
  };
  const sendHeader = (ctl: TransformStreamDefaultController<Uint8Array>) => {
    if (headerSent) return;
    headerSent = true;
    ctl.enqueue(enc.header());
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
      ctl.enqueue(enc.end());
    },
  });
}

/**
 * Compresses `length` bytes into one whole frame in memory, synchronously: `read(into, offset)` fills
 * `into` with the bytes from `offset` on and returns how many it read (0 = the source ended early, an
 * error). For small bodies read from the page cache (a replicator tick's WAL segment), where a stream
 * would cost more than the compression; memory is the compressed size.
 */
export function lz4CompressFrameSync(
  read: (into: Uint8Array, offset: number) => number,
  length: number,
  opts: Lz4WriteOptions = {},
): Uint8Array {
  const enc = new Lz4FrameEncoder(opts);
  const parts = [enc.header()];
  for (let off = 0; off < length;) {
    // Read straight into the compressor's input area: no copy on the way in.
    const block = blockCompressInput(Math.min(enc.blockMax, length - off));
    let fill = 0;
    while (fill < block.length) {
      const n = read(block.subarray(fill), off + fill);
      if (n <= 0) throw new RangeError(`lz4: source ended at byte ${off + fill} of ${length}`);
      fill += n;
    }
    parts.push(enc.block(block));
    off += fill;
  }
  parts.push(enc.end());
  return concatBytes(parts);
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
