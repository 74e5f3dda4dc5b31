/**
 * Reads LZ4 frames as a web TransformStream: any standard frame — dependent or independent blocks,
 * block and content checksums, content size, uncompressed blocks, 64 KiB to 4 MiB blocks, skippable
 * frames and several frames back to back. Every checksum present is verified; truncation anywhere
 * is an error, never a short result. Buffers grow with the blocks actually seen, so reading many
 * small WAL segments does not allocate 4 MiB each.
 */
import { ByteQueue } from "../byte_queue.ts";
import { CodecError } from "../codec_error.ts";
import { decompressBlock, Lz4BlockError } from "./lz4_block.ts";
import { blockInputArea, decodeIndependentBlockView } from "./lz4_decode_wasm.ts";
import { Xxh32, xxh32 } from "../xxh32/xxh32.ts";

/** Magic number of an LZ4 frame (little-endian on the wire: 04 22 4D 18). */
export const LZ4_FRAME_MAGIC = 0x184d2204;
/** Block maximum sizes by BD index (4..7). */
export const LZ4_BLOCK_SIZES: Record<number, number> = { 4: 65536, 5: 262144, 6: 1048576, 7: 4194304 };

const WINDOW = 65536;

type State = "magic" | "descriptor" | "skip" | "blockSize" | "block" | "checksum";

/**
 * Receives each decoded block as a view of the decoder's own memory, valid only until it returns:
 * the next block overwrites it. Copy what must outlive the call.
 */
export type Lz4BlockSink = (block: Uint8Array) => void;

/** A push decoder of LZ4 frames: see {@link lz4FrameDecoder}. */
export interface Lz4FrameDecoder {
  /**
   * Feeds the next input bytes; calls `emit` synchronously for every block they complete. The decoder
   * keeps references to `chunk` unless `transient` is true: then it copies what it still needs, so
   * the caller may reuse the buffer for its next read.
   */
  push(chunk: Uint8Array, emit: Lz4BlockSink, transient?: boolean): void;
  /** Checks the input ended on a frame boundary (after at least one frame). */
  end(): void;
}

/**
 * Decodes LZ4 frames without allocating per block: output is handed out as views of reused memory
 * (the WebAssembly decoder's, or the history window), so a restore's memory stays flat however large
 * the database — a fresh buffer per block is collected lazily, by Bun especially (254 MiB peak RSS on
 * a 235 MiB replica). `name` (an object key or file) prefixes every error, a {@link CodecError}.
 */
export function lz4FrameDecoder(name = "lz4 data"): Lz4FrameDecoder {
  const q = new ByteQueue();
  const small = new Uint8Array(16);
  const fail = (what: string) => new CodecError(`${name}: invalid LZ4 frame: ${what}`);
  let state: State = "magic";
  let frames = 0;
  let skipLeft = 0;
  // Per-frame settings.
  let blockMax = 0;
  let independent = true;
  let blockChecksum = false;
  let contentChecksum = false;
  let contentSize: bigint | null = null;
  let produced = 0;
  let hash = new Xxh32();
  // Per-block.
  let blockLen = 0;
  let stored = false;
  let blockBuf = new Uint8Array(0);
  // Output window: WINDOW bytes of history then room for one block.
  let window = new Uint8Array(0);
  let histLen = 0;
  /** Makes `window` hold WINDOW bytes of history plus `cap` bytes of output, keeping the history. */
  const ensureWindow = (cap: number) => {
    if (window.length >= WINDOW + cap) return;
    const bigger = new Uint8Array(WINDOW + Math.max(cap, Math.min(blockMax, (window.length - WINDOW) * 2)));
    if (histLen > 0) bigger.set(window.subarray(WINDOW - histLen, WINDOW), WINDOW - histLen);
    window = bigger;
  };

  const startFrame = () => {
    const bd = small[1];
    const flg = small[0];
    if ((flg >>> 6) !== 1) throw fail(`unsupported version ${flg >>> 6}`);
    if (flg & 0x02) throw fail("reserved FLG bit set");
    if (flg & 0x01) throw fail("dictionary ID set (preset dictionaries are not supported)");
    if (bd & 0x8f) throw fail("reserved BD bits set");
    const bsi = (bd >>> 4) & 7;
    if (!(bsi in LZ4_BLOCK_SIZES)) throw fail(`invalid block size index ${bsi}`);
    independent = (flg & 0x20) !== 0;
    blockChecksum = (flg & 0x10) !== 0;
    contentChecksum = (flg & 0x04) !== 0;
    const hasSize = (flg & 0x08) !== 0;
    const descLen = hasSize ? 10 : 2;
    if ((xxh32(small.subarray(0, descLen)) >>> 8 & 0xff) !== small[descLen]) {
      throw fail("header checksum mismatch");
    }
    contentSize = hasSize ? new DataView(small.buffer).getBigUint64(2, true) : null;
    blockMax = LZ4_BLOCK_SIZES[bsi];
    histLen = 0;
    produced = 0;
    hash = new Xxh32();
    frames++;
  };

  const decodeBlock = (emit: Lz4BlockSink, raw: Uint8Array) => {
    const data = raw.subarray(0, blockLen);
    if (blockChecksum) {
      const want = new DataView(raw.buffer, raw.byteOffset).getUint32(blockLen, true);
      if (xxh32(data) !== want) throw fail(`block checksum mismatch at output offset ${produced}`);
    }
    if (independent && !stored) {
      let out: Uint8Array;
      try {
        out = decodeIndependentBlockView(data, blockMax);
      } catch (err) {
        if (!(err instanceof Lz4BlockError)) throw err;
        throw fail(`${err.message} (block at output offset ${produced})`);
      }
      if (contentChecksum) hash.update(out);
      produced += out.length;
      if (out.length > 0) emit(out);
      return;
    }
    const base = WINDOW;
    let end: number;
    if (stored) {
      ensureWindow(blockLen);
      window.set(data, base);
      end = base + blockLen;
    } else {
      // Guess the output size from the input; a block that expands more is decoded again with room.
      let cap = Math.min(blockMax, Math.max(65536, blockLen * 4));
      while (true) {
        ensureWindow(cap);
        try {
          end = decompressBlock(
            data,
            0,
            blockLen,
            window,
            base,
            base + cap,
            independent ? base : base - histLen,
          );
          break;
        } catch (err) {
          if (!(err instanceof Lz4BlockError)) throw err;
          if (err.overflow && cap < blockMax) {
            cap = blockMax;
            continue;
          }
          throw fail(`${err.message} (block at output offset ${produced})`);
        }
      }
    }
    const out = window.subarray(base, end);
    if (contentChecksum) hash.update(out);
    produced += out.length;
    if (out.length > 0) emit(out);
    if (!independent) {
      // Keep the last 64 KiB of output as the dictionary of the next block.
      const keep = Math.min(WINDOW, histLen + out.length);
      window.copyWithin(WINDOW - keep, end - keep, end);
      histLen = keep;
    }
  };

  const endFrame = () => {
    if (contentSize !== null && BigInt(produced) !== contentSize) {
      throw fail(`content size is ${produced} bytes, header says ${contentSize}`);
    }
  };

  const step = (emit: Lz4BlockSink): boolean => {
    switch (state) {
      case "magic": {
        if (q.length < 4) return false;
        const magic = (q.peek(0) | (q.peek(1) << 8) | (q.peek(2) << 16) | (q.peek(3) << 24)) >>> 0;
        if (magic === LZ4_FRAME_MAGIC) {
          q.skip(4);
          state = "descriptor";
        } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          if (q.length < 8) return false;
          q.skip(4);
          q.takeInto(4, small);
          skipLeft = new DataView(small.buffer).getUint32(0, true);
          state = "skip";
        } else throw fail(frames === 0 ? "bad magic number (not LZ4 data)" : "trailing garbage after frame");
        return true;
      }
      case "skip": {
        skipLeft -= q.skip(skipLeft);
        if (skipLeft > 0) return false;
        state = "magic";
        return true;
      }
      case "descriptor": {
        if (q.length < 3) return false;
        const need = q.peek(0) & 0x08 ? 11 : 3;
        if (q.length < need) return false;
        q.takeInto(need, small);
        startFrame();
        state = "blockSize";
        return true;
      }
      case "blockSize": {
        if (q.length < 4) return false;
        q.takeInto(4, small);
        const v = new DataView(small.buffer).getUint32(0, true);
        if (v === 0) {
          endFrame();
          state = contentChecksum ? "checksum" : "magic";
          return true;
        }
        stored = (v & 0x80000000) !== 0;
        blockLen = v & 0x7fffffff;
        if (blockLen > blockMax) {
          throw fail(`block of ${blockLen} bytes exceeds the ${blockMax}-byte maximum`);
        }
        state = "block";
        return true;
      }
      case "block": {
        const need = blockLen + (blockChecksum ? 4 : 0);
        if (q.length < need) return false;
        let raw: Uint8Array | null;
        if (independent && !stored) {
          // Straight into the WebAssembly decoder's input area: one copy, no buffer per block.
          raw = blockInputArea(need);
          q.takeInto(need, raw);
        } else {
          raw = q.takeView(need);
          if (raw === null) {
            if (blockBuf.length < need) blockBuf = new Uint8Array(need);
            q.takeInto(need, blockBuf);
            raw = blockBuf;
          }
        }
        decodeBlock(emit, raw);
        state = "blockSize";
        return true;
      }
      case "checksum": {
        if (q.length < 4) return false;
        q.takeInto(4, small);
        const want = new DataView(small.buffer).getUint32(0, true);
        if (hash.digest() !== want) throw fail("content checksum mismatch");
        state = "magic";
        return true;
      }
    }
  };

  return {
    push(chunk, emit, transient = false) {
      q.push(chunk);
      while (step(emit));
      if (transient) q.detach();
    },
    end() {
      if (state === "magic" && q.length === 0 && frames > 0) return;
      if (frames === 0 && state === "magic" && q.length === 0) throw fail("empty input");
      throw fail("truncated");
    },
  };
}

/**
 * A TransformStream decompressing LZ4 frames (each block a fresh buffer, as a stream's consumer may
 * hold it). `name` (an object key or file) prefixes every error, a {@link CodecError}.
 */
export function lz4DecompressStream(name = "lz4 data"): TransformStream<Uint8Array, Uint8Array> {
  const dec = lz4FrameDecoder(name);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      dec.push(chunk, (block) => ctl.enqueue(block.slice()));
    },
    flush() {
      dec.end();
    },
  });
}
