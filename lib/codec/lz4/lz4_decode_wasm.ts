/**
 * LZ4 block decoding in WebAssembly for independent blocks (every frame Litestream and our writer
 * produce). Database pages decode into millions of 4–8 byte sequences; per sequence the TypeScript
 * decoder (lz4_block.ts, still used for dependent blocks) costs several times what WebAssembly's
 * bounds-checked loads and `memory.copy` do. Measured on a 250 MiB hex-payload snapshot (256 KiB
 * blocks, ~40k sequences each), same run: TypeScript 330–500 MB/s, this module 700–800 MB/s including
 * the copies in and out of its memory; a whole restore's CPU fell from 0.67 s to 0.40 s.
 *
 * The module is lz4_decode.wat assembled by wabt's wat2wasm (Debian's 1.0.32 and npm's 1.0.39 emit the
 * same bytes), embedded as base64 so compiled executables need no side file. After editing the .wat,
 * regenerate it with `wat2wasm lib/codec/lz4/lz4_decode.wat --output=- | base64 -w0`;
 * tests/codec/lz4_wasm_rebuild_test.ts fails while the embedded bytes and the .wat disagree.
 */
import { Lz4BlockError } from "./lz4_block.ts";

const MODULE_BASE64 =
  "AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFBAEAggEHEAIDbWVtAgAGZGVjb2RlAAAK/QMB+gMBB38gAiEEAkADQCAAIAFPDQEgAC0AACEFIABBAWohACAFQQR2IQYgBkEPRgRAA0AgACABTwRAQX8PCyAALQAAIQcgAEEBaiEAIAYgB2ohBiAHQf8BRg0ACwsgBiABIABrSwRAQX8PCyAGIAMgBGtLBEBBfg8LIAZBEE0EQCAEIAApAwA3AwAgBCAAKQMINwMIBSAEIAAgBvwKAAALIAQgBmohBCAAIAZqIQAgACABRgRAIAQPCyABIABrQQJJBEBBfQ8LIAAvAQAhCCAAQQJqIQAgCEUEQEF8DwsgCCAEIAJrSwRAQXsPCyAFQQ9xIQYgBkEPRgRAA0AgACABTwRAQXoPCyAALQAAIQcgAEEBaiEAIAYgB2ohBiAHQf8BRg0ACwsgBkEEaiEGIAYgAyAEa0sEQEF+DwsgCEEITwRAIAZBEE0EQCAEIAQgCGspAwA3AwAgBCAEIAhrKQMINwMIIAQgBmohBAwCCyAIIAZPBEAgBCAEIAhrIAb8CgAAIAQgBmohBAwCC0EAIQkDQCAEIAlqIAQgCWogCGspAwA3AwAgCUEIaiEJIAkgBkkNAAsgBCAGaiEEDAELIAghCQNAIAkgBiAJIAZJGyEKIAQgBCAJayAK/AoAACAEIApqIQQgBiAKayEGIAkgCmohCSAGDQALDAALC0F5Cw==";

/** Input block at 0; output after the largest block (4 MiB) plus slack; the memory holds 130 pages. */
const DST = (4 << 20) + (64 << 10);
const MAX_BLOCK = 4 << 20;

const ERRORS: Record<number, string> = {
  [-1]: "literals run past the end of the block",
  [-2]: "block decompresses to more than the maximum block size",
  [-3]: "match offset runs past the end of the block",
  [-4]: "zero match offset",
  [-5]: "match offset points before the start of the data",
  [-6]: "match length runs past the end of the block",
  [-7]: "empty block",
};

interface Decoder {
  mem: WebAssembly.Memory;
  decode(src: number, srcEnd: number, dst: number, dstEnd: number): number;
}

let decoder: Decoder | null = null;

/** The embedded WebAssembly module's bytes (what wat2wasm makes of lz4_decode.wat). */
export function lz4DecoderModule(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(MODULE_BASE64), (c) => c.charCodeAt(0));
}

function instance(): Decoder {
  if (decoder) return decoder;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(lz4DecoderModule()));
  decoder = inst.exports as unknown as Decoder;
  return decoder;
}

/**
 * Decompresses one independent block into a fresh buffer of its exact size, at most `blockMax`
 * (≤ 4 MiB) bytes. Throws {@link Lz4BlockError} on malformed input, as decompressBlock() does.
 */
export function decompressIndependentBlock(block: Uint8Array, blockMax: number): Uint8Array {
  return decodeIndependentBlockView(block, blockMax).slice();
}

/**
 * Where to put a block of `n` bytes (with its checksum, if any) so {@link decodeIndependentBlockView} need not copy it: a view of
 * the decoder's input area, valid until the next decode.
 */
export function blockInputArea(n: number): Uint8Array {
  // A block plus its 4-byte checksum: the input area runs up to the output area (DST).
  if (n > DST) throw new Lz4BlockError("block larger than the 4 MiB maximum");
  return new Uint8Array(instance().mem.buffer, 0, n);
}

/**
 * Like {@link decompressIndependentBlock} but returns a view of the decoder's memory, not a copy: it is
 * overwritten by the next decode, so the caller must be done with it (or copy it) before decoding again.
 * Reusing that memory keeps a restore from leaving a fresh 4 MiB buffer per block for the GC.
 */
export function decodeIndependentBlockView(block: Uint8Array, blockMax: number): Uint8Array {
  if (block.length > MAX_BLOCK || blockMax > MAX_BLOCK) {
    throw new Lz4BlockError("block larger than the 4 MiB maximum");
  }
  const d = instance();
  // A block already placed by blockInputArea() is not copied onto itself.
  if (block.buffer !== d.mem.buffer || block.byteOffset !== 0) {
    new Uint8Array(d.mem.buffer, 0, block.length).set(block);
  }
  const end = d.decode(0, block.length, DST, DST + blockMax);
  if (end < 0) throw new Lz4BlockError(ERRORS[end] ?? `decoder error ${end}`, end === -2);
  return new Uint8Array(d.mem.buffer, DST, end - DST);
}
