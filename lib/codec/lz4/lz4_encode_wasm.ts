/**
 * LZ4 block compression in WebAssembly (lz4_encode.wat): the compressor of every frame we write (WAL
 * segments, snapshots). Its 8-byte match extension and bounds-checked loads beat the TypeScript
 * compressor it replaced, which now serves the tests as the reference its output must equal byte for byte
 * (tests/codec/lz4_reference_compressor.ts). Figures: README, performance decisions (stop 25).
 *
 * The module is lz4_encode.wat assembled by wabt's wat2wasm, embedded as base64 so compiled executables
 * need no side file. After editing the .wat, regenerate it with
 * `wat2wasm lib/codec/lz4/lz4_encode.wat --output=- | base64 -w0`; tests/codec/lz4_wasm_rebuild_test.ts fails
 * while the embedded bytes and the .wat disagree.
 */

const MODULE_BASE64 =
  "AGFzbQEAAAABFANgAn9/AX9gBH9/f38Bf2ABfwF/AwQDAAECBQQBAIUBBgYBfwFBAQsHEgIDbWVtAgAIY29tcHJlc3MAAgqpBgM1AAJAA0AgAUH/AUkNASAAQf8BOgAAIABBAWohACABQf8BayEBDAALCyAAIAE6AAAgAEEBagtuAQF/IAEgAGshBCACQYCAkAJrQQFqIARB8AFqQf8BbiAEamogA08EQEF/DwsgAkEPIAQgBEEPTxtBBHQ6AAAgAkEBaiECIARBD08EQCACIARBD2sQACECCyACIAAgBPwKAAAgAiAEakGAgJACawuBBQIRfwF+QYCAECAAaiEBQYCAkAIhCCAAQQ1JBEBBgIAQIAEgCCAAEAEPCyMAIABqQYCA/P8HTwRAQQBBAEGAgBD8CwBBASQACyMAIQIgAkGAgBBrIQMjACAAQQFqaiQAIAFBDGshBCABQQVrIQVBgIAQIQZBgIAQIQcCQANAIAcgBE8NAUHAACEJAkADQCAHKAIAIQogCkGx893xeWxBEHZBAnQhCyALKAIAIQwgCyAHIANqNgIAIAwgA2shDSAMIAJPIAcgDWtB//8DTXEEQCANKAIAIApGDQILIAcgCUEGdmohByAJQQFqIQkgByAETwRAIAYgASAIIAAQAQ8LDAALCwJAA0AgByAGTQ0BIA1BgIAQTQ0BIAdBAWstAAAgDUEBay0AAEcNASAHQQFrIQcgDUEBayENDAALC0EEIQ4CQAJAA0AgByAOakEIaiAFSw0BIAcgDmopAwAgDSAOaikDAIUhEiASQgBSBEAgDiASekIDiKdqIQ4MAwsgDkEIaiEODAALCwNAIAcgDmogBU8NASAHIA5qLQAAIA0gDmotAABHDQEgDkEBaiEODAALCyAHIAZrIQ8gDkEEayEQIAghESAIQQFqIQggD0EPTwRAIAggD0EPaxAAIQgLIAggBiAP/AoAACAIIA9qIQggCCAHIA1rOwEAIAhBAmohCCAQQQ9PBEAgCCAQQQ9rEAAhCAsgEUEPIA8gD0EPTxtBBHRBDyAQIBBBD08bcjoAACAIQYCAkAJrIABLBEBBfw8LIAcgDmohByAHIQYgByAESQRAIAdBAmsoAgBBsfPd8XlsQRB2QQJ0IAdBAmsgA2o2AgALDAALCyAGIAEgCCAAEAEL";

/** Memory layout of the module: hash table, then the input block, then the output. */
const SRC = 256 << 10;
const DST = SRC + (4 << 20);
/** Largest block the frame format allows (block size index 7). */
const MAX_BLOCK = 4 << 20;

interface Encoder {
  mem: WebAssembly.Memory;
  compress(n: number): number;
}

let encoder: Encoder | null = null;

/** The embedded WebAssembly module's bytes (what wat2wasm makes of lz4_encode.wat). */
export function lz4EncoderModule(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(MODULE_BASE64), (c) => c.charCodeAt(0));
}

function instance(): Encoder {
  encoder ??= new WebAssembly.Instance(new WebAssembly.Module(lz4EncoderModule()))
    .exports as unknown as Encoder;
  return encoder;
}

/**
 * Where to put a block of `n` (≤ 4 MiB) bytes so {@link compressBlockView} need not copy it: a view of the
 * compressor's input area, valid until the next compression.
 */
export function blockCompressInput(n: number): Uint8Array {
  if (n > MAX_BLOCK) throw new RangeError("lz4: block larger than the 4 MiB maximum");
  return new Uint8Array(instance().mem.buffer, SRC, n);
}

/**
 * Compresses one independent block (≤ 4 MiB). Returns a view of the compressor's memory holding the
 * compressed block, overwritten by the next call, or null when compressing would not make it smaller
 * (the caller then stores it uncompressed).
 */
export function compressBlockView(block: Uint8Array): Uint8Array | null {
  const e = instance();
  if (block.buffer !== e.mem.buffer || block.byteOffset !== SRC) blockCompressInput(block.length).set(block);
  const n = e.compress(block.length);
  return n < 0 ? null : new Uint8Array(e.mem.buffer, DST, n);
}
