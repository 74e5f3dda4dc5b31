/**
 * Hostile LZ4 (lib/codec/lz4/): replica snapshots and WAL segments are downloaded from a backend and
 * decoded by the frame reader, whose independent blocks go to the WebAssembly decoder and dependent
 * ones to the TypeScript one. Properties: frames (mutated valid ones and random bytes) decode or fail
 * with a CodecError, never another error; the two block decoders agree on every block, output and
 * verdict; compress → decompress is the identity; time is linear in the input.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CodecError } from "../../lib/codec/codec_error.ts";
import { lz4CompressBytes, lz4DecompressBytes } from "../../lib/codec/lz4/lz4.ts";
import { decompressBlock, Lz4BlockError } from "../../lib/codec/lz4/lz4_block.ts";
import { decompressIndependentBlock } from "../../lib/codec/lz4/lz4_decode_wasm.ts";
import { lz4FrameDecoder } from "../../lib/codec/lz4/lz4_frame_reader.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const codec = (err: unknown) => err instanceof CodecError ? "bad_input" : undefined;

/** Decodes `bytes` fed in `chunk`-sized pieces, returning the output length. */
function decodeFrames(bytes: Uint8Array, chunk = 1000): number {
  const dec = lz4FrameDecoder("fuzz.lz4");
  let n = 0;
  for (let i = 0; i < bytes.length; i += chunk) {
    dec.push(bytes.subarray(i, i + chunk), (b) => (n += b.length), i % 2 === 0);
  }
  dec.end();
  return n;
}

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat({ max: 400 })).map(([p, r]) => {
    const out = new Uint8Array(p.length * r);
    for (let i = 0; i < r; i++) out.set(p, i * p.length);
    return out;
  }),
);
const mutation = fc.record({
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  kind: fc.constantFrom("overwrite", "truncate", "insert", "append"),
});

function mutate(b: Uint8Array, ms: { at: number; bytes: Uint8Array; kind: string }[]): Uint8Array {
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.kind === "truncate") b = b.subarray(0, at);
    else if (m.kind === "insert") b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
    else if (m.kind === "append") b = Uint8Array.from([...b, ...m.bytes]);
    else {
      b = b.slice();
      b.set(m.bytes.subarray(0, Math.max(0, b.length - at)), at);
    }
  }
  return b;
}

Deno.test("lz4: round trip of any payload, any chunking", async () => {
  await fc.assert(
    fc.asyncProperty(
      payload,
      fc.boolean(),
      fc.integer({ min: 1, max: 5000 }),
      async (data, checksum, chunk) => {
        const frame = await lz4CompressBytes(data, { contentChecksum: checksum });
        assert.deepEqual(await lz4DecompressBytes(frame), data);
        assert.equal(decodeFrames(frame, chunk), data.length);
      },
    ),
    fuzzParams(200),
  );
});

Deno.test("lz4: mutated frames decode or fail with a CodecError", async () => {
  await fc.assert(
    fc.asyncProperty(payload, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (data, ms) => {
      const frame = await lz4CompressBytes(data, { contentChecksum: false });
      await assertTyped(() => decodeFrames(mutate(frame, ms)), codec);
    }),
    fuzzParams(300),
  );
});

/** A frame header for the given FLG/BD with a correct header checksum (so blocks are reached). */
async function frameWith(flg: number, bd: number, blocks: Uint8Array): Promise<Uint8Array> {
  const { xxh32 } = await import("../../lib/codec/xxh32/xxh32.ts");
  const desc = Uint8Array.of(flg, bd);
  const hc = (xxh32(desc) >>> 8) & 0xff;
  return Uint8Array.from([0x04, 0x22, 0x4d, 0x18, flg, bd, hc, ...blocks]);
}

Deno.test("lz4: random blocks in valid frame headers (dependent and independent) fail typed", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(0x40, 0x60, 0x50, 0x70, 0x44),
      fc.constantFrom(0x40, 0x50, 0x60, 0x70),
      fc.uint8Array({ maxLength: 600 }),
      async (flg, bd, body) => {
        const len = Math.min(body.length, 500);
        const blocks = Uint8Array.from([len & 0xff, len >> 8, 0, 0, ...body.subarray(0, len), 0, 0, 0, 0]);
        await assertTyped(async () => decodeFrames(await frameWith(flg, bd, blocks)), codec);
      },
    ),
    fuzzParams(300),
  );
});

/** Runs both block decoders on `block`: the same output, or both refuse it. */
function bothDecoders(block: Uint8Array, max: number): { ts?: Uint8Array; wasm?: Uint8Array } {
  let ts: Uint8Array | undefined;
  let wasm: Uint8Array | undefined;
  const dst = new Uint8Array(max + 64);
  try {
    const end = decompressBlock(block, 0, block.length, dst, 0, max, 0);
    ts = dst.slice(0, end);
  } catch (err) {
    if (!(err instanceof Lz4BlockError)) throw err;
  }
  try {
    wasm = decompressIndependentBlock(block, max);
  } catch (err) {
    if (!(err instanceof Lz4BlockError)) throw err;
  }
  return { ts, wasm };
}

Deno.test("lz4: the TypeScript and WebAssembly block decoders agree on hostile blocks", () => {
  const token = fc.record({
    lit: fc.nat({ max: 40 }),
    match: fc.nat({ max: 40 }),
    offset: fc.integer({ min: 0, max: 300 }),
  });
  const crafted = fc.array(token, { minLength: 1, maxLength: 12 }).map((seq) => {
    const out: number[] = [];
    const len = (n: number) => {
      for (; n >= 255; n -= 255) out.push(255);
      out.push(n);
    };
    for (const t of seq) {
      out.push((Math.min(t.lit, 15) << 4) | Math.min(t.match, 15));
      if (t.lit >= 15) len(t.lit - 15);
      for (let i = 0; i < t.lit; i++) out.push(97 + (i % 7));
      out.push(t.offset & 0xff, t.offset >> 8);
      if (t.match >= 15) len(t.match - 15);
    }
    return Uint8Array.from(out);
  });
  fc.assert(
    fc.property(
      fc.oneof(crafted, fc.uint8Array({ maxLength: 400 })),
      fc.constantFrom(64, 1000, 65536),
      (block, max) => {
        const { ts, wasm } = bothDecoders(block, max);
        assert.equal(
          ts === undefined,
          wasm === undefined,
          `verdicts differ: ts ${ts?.length} wasm ${wasm?.length}`,
        );
        if (ts && wasm) assert.deepEqual(wasm, ts);
      },
    ),
    fuzzParams(1000),
  );
});

Deno.test("lz4: time is linear in the input (many tiny blocks, long length runs, skippable frames)", async () => {
  const data = (n: number) => new Uint8Array(n).map((_, i) => (i * 7919) % 251);
  const frames = new Map<number, Uint8Array>();
  const frameOf = async (n: number) => frames.get(n) ?? await lz4CompressBytes(data(n));
  for (const n of [100_000, 1_000_000]) frames.set(n, await frameOf(n));
  await assertLinear(
    "lz4 frame",
    (n) => frames.get(n)!,
    (f) => decodeFrames(f as Uint8Array, 4096),
    100_000,
    100_000,
  );
  // one literal run whose length bytes go on and on (0xff…): refused by length, not walked quadratically
  const longRun = (n: number) => {
    const b = new Uint8Array(n + 2).fill(255);
    b[0] = 0xf0;
    b[n + 1] = 0;
    return b;
  };
  await assertLinear("lz4 length run", longRun, (b) => bothDecoders(b as Uint8Array, 65536), 20_000, 400_000);
  const skippable = (n: number) => {
    const one = Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4);
    const out = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) out.set(one, i * one.length);
    return out;
  };
  await assertLinear(
    "lz4 skippable frames",
    skippable,
    (b) => {
      try {
        decodeFrames(b as Uint8Array, 4096);
      } catch { /* no data frame: refused at the end; only the time matters */ }
    },
    1000,
    100_000,
  );
});

Deno.test("lz4: regression vectors", async () => {
  await checkVectors("lz4", (v) => decodeFrames(v.bytes), codec);
});
