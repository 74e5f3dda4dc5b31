/**
 * LZ4 frames: round trip, exact Litestream header bytes, interop with the Debian `lz4` CLI (liblz4
 * 1.9.4) both ways across its frame options, corruption and truncation detection, bounded chunks.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import {
  frameHeader,
  lz4CompressBytes,
  lz4CompressFrameSync,
  lz4CompressStream,
  lz4DecompressBytes,
  lz4DecompressStream,
  type Lz4WriteOptions,
} from "../../lib/codec/lz4/lz4.ts";
import { Xxh32, xxh32 } from "../../lib/codec/xxh32/xxh32.ts";
import { CodecError } from "../../lib/codec/codec_error.ts";
import { readAllBytes } from "../../lib/bytes.ts";
import { ExitCode, toVigoError } from "../../lib/errors.ts";
import { lz4Cli } from "../helpers/lz4_cli.ts";

/** Runs `fn`, which must reject with a CodecError; returns that error. */
async function rejects(fn: () => Promise<unknown>): Promise<CodecError> {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof CodecError, `expected CodecError, got ${err}`);
    return err;
  }
  throw new Error("expected a rejection");
}

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Data shaped like SQLite pages: mostly compressible text with random runs and zero padding. */
function pageLike(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const words = new TextEncoder().encode("alpha beta gamma delta epsilon row-00042 2026-11-25T20:00:00Z ");
  const r = noise(n, 7);
  for (let i = 0; i < n; i++) {
    const page = Math.floor(i / 4096);
    if (page % 5 === 4) b[i] = 0;
    else if (page % 7 === 3) b[i] = r[i];
    else b[i] = words[(i * 7 + page) % words.length];
  }
  return b;
}

const SAMPLES: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["one byte", new Uint8Array([42])],
  ["12 bytes", new TextEncoder().encode("abcabcabcabc")],
  ["zeros 5 MiB", new Uint8Array(5 * 1024 * 1024)],
  ["random 300 KiB", noise(300 * 1024)],
  ["pages 9 MiB", pageLike(9 * 1024 * 1024 + 123)],
  // Short literals and matches with every small offset: the word-at-a-time copy paths and their edges.
  ["hex text 1 MiB", new TextEncoder().encode(Array.from(noise(1 << 19, 3), (x) => x.toString(16)).join(""))],
  ["short periods", shortPeriods(300 * 1024)],
];

/** WAL frames of a steady writer: a 24-byte header, then a page of rows that differ in a counter. */
function walLike(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const enc = new TextEncoder();
  for (let f = 0, row = 0; f * 4120 < n; f++) {
    const frame = b.subarray(f * 4120, Math.min(n, (f + 1) * 4120));
    frame.set(noise(24, f + 1).subarray(0, frame.length));
    for (let o = 24; o < frame.length; o += 120, row++) {
      const text = enc.encode(`vigolag:${String(row).padStart(10, "0")};${"x".repeat(100)}`);
      frame.set(text.subarray(0, Math.min(text.length, frame.length - o)), o);
    }
  }
  return b;
}

/** Runs of period 1..19 and lengths 1..40 mixed with noise: overlapping matches of every small offset. */
function shortPeriods(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const r = noise(n, 11);
  let i = 0;
  for (let k = 0; i < n; k++) {
    const period = 1 + (k % 19);
    const len = Math.min(n - i, 1 + (r[k] % 40) + period);
    for (let j = 0; j < len; j++) b[i + j] = j < period ? r[(i + j) % n] : b[i + j - period];
    i += len;
  }
  return b;
}

Deno.test("xxh32 matches the reference vectors", () => {
  assertEquals(xxh32(new Uint8Array(0)), 0x02cc5d05);
  assertEquals(xxh32(new TextEncoder().encode("a")), 0x550d7456);
  assertEquals(xxh32(new TextEncoder().encode("abc")), 0x32d153ff);
  assertEquals(xxh32(new TextEncoder().encode("Nobody inspects the spammish repetition")), 0xe2293b2f);
});

Deno.test("xxh32: word-aligned and unaligned input, whole or in pieces, hash alike", () => {
  const data = noise(100_003, 5);
  const want = xxh32(data);
  const shifted = new Uint8Array(data.length + 3);
  shifted.set(data, 3);
  assertEquals(xxh32(shifted.subarray(3)), want);
  const h = new Xxh32();
  for (let i = 0; i < data.length; i += 4097) h.update(data.subarray(i, i + 4097));
  assertEquals(h.digest(), want);
  assertEquals(want, 0x175a8ee2, "the content checksum `lz4 --content-size` writes for these bytes");
});

Deno.test("frame header is Litestream's: FLG 0x64, BD 0x70", () => {
  const h = frameHeader(7, true);
  assertEquals([...h.subarray(0, 6)], [0x04, 0x22, 0x4d, 0x18, 0x64, 0x70]);
  assertEquals(h[6], (xxh32(new Uint8Array([0x64, 0x70])) >>> 8) & 0xff);
});

for (const [name, data] of SAMPLES) {
  Deno.test(`round trip and lz4 CLI interop: ${name}`, async () => {
    const ours = await lz4CompressBytes(data);
    assertEquals(await lz4DecompressBytes(ours), data);
    assertEquals(await lz4Cli(["-d", "-c"], ours), data, "lz4 -d reads our frame");
    for (const opts of [[], ["-BD"], ["-BX", "-B4"], ["--content-size", "-B5"], ["-9", "-BD", "-B6"]]) {
      const theirs = await lz4Cli(["-c", ...opts], data);
      assertEquals(await lz4DecompressBytes(theirs), data, `we read lz4 ${opts.join(" ")}`);
    }
  });
}

Deno.test("random data stays within a few bytes of its size (stored blocks)", async () => {
  const data = noise(1 << 20);
  const c = await lz4CompressBytes(data);
  assert(c.length <= data.length + 32, `${c.length}`);
});

Deno.test("concatenated and skippable frames decode as one stream", async () => {
  const a = await lz4CompressBytes(new TextEncoder().encode("first "));
  const skip = new Uint8Array([0x51, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
  const b = await lz4Cli(["-c"], new TextEncoder().encode("second"));
  const all = new Uint8Array([...a, ...skip, ...b]);
  assertEquals(new TextDecoder().decode(await lz4DecompressBytes(all)), "first second");
});

Deno.test("every single-byte corruption or truncation is an error, never a silent short result", async () => {
  const data = pageLike(70_000);
  const c = await lz4CompressBytes(data, { blockSizeIndex: 4 });
  for (let cut = 0; cut < c.length; cut += 97) {
    await rejects(() => lz4DecompressBytes(c.subarray(0, cut), "x.lz4"));
  }
  for (let i = 0; i < c.length; i += 131) {
    const bad = c.slice();
    bad[i] ^= 0x10;
    const err = await rejects(() => lz4DecompressBytes(bad));
    assert(err.message.startsWith("lz4 data: invalid LZ4 frame"), err.message);
  }
});

Deno.test("streams work with tiny chunks and never emit more than one block at a time", async () => {
  const data = pageLike(600_000);
  const chunks = [];
  for (let i = 0; i < data.length; i += 1000) chunks.push(data.subarray(i, i + 1000));
  const compressed = ReadableStream.from(chunks).pipeThrough(lz4CompressStream({ blockSizeIndex: 4 }));
  const frame = await readAllBytes(compressed);
  const oneByte = [];
  for (let i = 0; i < frame.length; i++) oneByte.push(frame.subarray(i, i + 1));
  let o = 0;
  for await (const p of ReadableStream.from(oneByte).pipeThrough(lz4DecompressStream())) {
    assert(p.length <= 65536);
    assertEquals(p, data.subarray(o, o + p.length));
    o += p.length;
  }
  assertEquals(o, data.length);
});

Deno.test("a frame compressed whole equals the streamed one, and the lz4 CLI reads it", async () => {
  for (const data of [new Uint8Array(0), pageLike(5), pageLike(600_000), noise(300_000)]) {
    // A reader that hands out at most 7,000 bytes per call: the frame must not depend on how it reads.
    const read = (into: Uint8Array, off: number) => {
      const n = Math.min(into.length, 7000, data.length - off);
      into.set(data.subarray(off, off + n));
      return n;
    };
    for (const blockSizeIndex of [4, 5] as const) {
      const whole = lz4CompressFrameSync(read, data.length, { blockSizeIndex });
      assertEquals(whole, await lz4CompressBytes(data, { blockSizeIndex }), `${data.length} bytes`);
      assertEquals(await lz4Cli(["-d", "-c"], whole), data);
    }
  }
});

Deno.test("a frame compressed whole refuses a source shorter than promised", () => {
  const data = pageLike(10_000);
  const read = (into: Uint8Array, off: number) => {
    const n = Math.min(into.length, 9_000 - off);
    into.set(data.subarray(off, off + n));
    return n;
  };
  try {
    lz4CompressFrameSync(read, data.length);
    throw new Error("accepted a short source");
  } catch (err) {
    assertEquals((err as Error).message, "lz4: source ended at byte 9000 of 10000");
  }
});

Deno.test("a block size index out of range is refused at once, not compressed in a busy loop", () => {
  for (const bad of [3, 8, 0, -1, 4.5, Number.NaN, "toString"]) {
    const opts = { blockSizeIndex: bad } as unknown as Lz4WriteOptions;
    assertThrows(
      () => lz4CompressStream(opts),
      /^RangeError: lz4: blockSizeIndex must be 4, 5, 6 or 7, got /,
    );
    assertThrows(() => lz4CompressFrameSync(() => 0, 10, opts), /blockSizeIndex must be/);
  }
});

Deno.test("not LZ4 and empty input are named errors", async () => {
  const e1 = await rejects(() => lz4DecompressBytes(new TextEncoder().encode("SQLite format 3"), "k"));
  assertEquals(e1.message, "k: invalid LZ4 frame: bad magic number (not LZ4 data)");
  const e2 = await rejects(() => lz4DecompressBytes(new Uint8Array(0), "k"));
  assertEquals(e2.message, "k: invalid LZ4 frame: empty input");
});

Deno.test("lz4DecompressStream's error on garbage carries the bad-input exit code and kind, as the application maps it", async () => {
  const garbage = new Blob([new Uint8Array(64).fill(7)]).stream().pipeThrough(lz4DecompressStream());
  const e = await rejects(() => readAllBytes(garbage));
  const mapped = toVigoError(e);
  assertEquals([e.exitCode, e.kind, e.message], [ExitCode.BadInput, mapped.kind, mapped.message]);
});

Deno.test("garbage block contents only ever raise CodecError (no RangeError, no hang)", async () => {
  const header = frameHeader(4, false);
  for (let seed = 1; seed <= 300; seed++) {
    const body = noise(1 + (seed * 37) % 3000, seed);
    const frame = new Uint8Array([
      ...header,
      body.length & 0xff,
      body.length >> 8,
      0,
      0,
      ...body,
      0,
      0,
      0,
      0,
    ]);
    try {
      await lz4DecompressBytes(frame);
    } catch (err) {
      assert(err instanceof CodecError, `seed ${seed}: ${err}`);
    }
  }
});

Deno.test("WebAssembly block decoder agrees with the TypeScript reference, on valid and damaged blocks", async () => {
  const { decompressBlock, Lz4BlockError } = await import("../../lib/codec/lz4/lz4_block.ts");
  const { decompressIndependentBlock } = await import("../../lib/codec/lz4/lz4_decode_wasm.ts");
  const max = 4 << 20;
  const ref = (block: Uint8Array): Uint8Array | string => {
    const out = new Uint8Array(max + 64);
    try {
      return out.slice(0, decompressBlock(block, 0, block.length, out, 0, max, 0));
    } catch (err) {
      if (err instanceof Lz4BlockError) return err.message;
      throw err;
    }
  };
  const wasm = (block: Uint8Array): Uint8Array | string => {
    try {
      return decompressIndependentBlock(block, max);
    } catch (err) {
      if (err instanceof Lz4BlockError) return err.message;
      throw err;
    }
  };
  let blocks = 0;
  for (const [, data] of SAMPLES.slice(2)) {
    const frame = await lz4Cli(["-c", "-B7"], data); // independent blocks, no block checksums
    // Walk the frame's blocks: 7-byte header, then size-prefixed blocks up to the zero end mark.
    let p = 7;
    for (;;) {
      const v = new DataView(frame.buffer, frame.byteOffset + p).getUint32(0, true);
      p += 4;
      if (v === 0) break;
      const block = frame.subarray(p, p + (v & 0x7fffffff));
      p += v & 0x7fffffff;
      if (v & 0x80000000) continue;
      blocks++;
      assertEquals(wasm(block), ref(block));
      const r = noise(64, blocks);
      for (let k = 0; k < 32; k++) {
        const bad = block.slice(0, Math.max(1, block.length - (r[k] % 3)));
        bad[(r[k] * 2654435761 >>> 0) % bad.length] ^= 1 << (r[k + 32] % 8);
        assertEquals(wasm(bad), ref(bad), `damaged block ${blocks}/${k}`);
      }
    }
  }
  assert(blocks >= 5, `only ${blocks} compressed blocks tested`);
});

Deno.test("WebAssembly block compressor writes exactly the TypeScript reference's blocks", async () => {
  const { BlockCompressor, compressBound } = await import("./lz4_reference_compressor.ts");
  const { compressBlockView } = await import("../../lib/codec/lz4/lz4_encode_wasm.ts");
  const reference = new BlockCompressor();
  let blocks = 0;
  for (const [name, data] of [...SAMPLES, ["WAL frames", walLike(1 << 20)] as [string, Uint8Array]]) {
    // Every block size the frame format allows, and odd tails: the end-of-block rules at every length.
    for (const size of [64 << 10, 256 << 10, 4 << 20, 4099]) {
      for (let o = 0; o < data.length; o += size) {
        const block = data.subarray(o, Math.min(data.length, o + size));
        const out = new Uint8Array(compressBound(block.length));
        const n = reference.compress(block, 0, block.length, out);
        const ours = compressBlockView(block);
        assertEquals(ours === null ? -1 : ours.length, n, `${name}: block at ${o} of ${size}`);
        if (ours) assertEquals(ours, out.subarray(0, n), `${name}: block at ${o} of ${size}`);
        blocks++;
      }
    }
  }
  for (let n = 0; n < 40; n++) {
    const block = shortPeriods(n);
    const out = new Uint8Array(compressBound(n));
    const r = reference.compress(block, 0, n, out);
    const ours = compressBlockView(block);
    assertEquals(ours === null ? -1 : [...ours], r < 0 ? -1 : [...out.subarray(0, r)], `${n} bytes`);
  }
  assert(blocks > 100, `only ${blocks} blocks compared`);
});
