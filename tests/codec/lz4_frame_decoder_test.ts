/**
 * The push decoder restore uses: blocks come out as views of reused memory, and with `transient`
 * the input buffer may be overwritten after each push. Frames from the Debian `lz4` CLI (4 MiB
 * independent blocks as Litestream writes, 64 KiB dependent blocks, block checksums) are fed from
 * ONE buffer that is scribbled over after every push: any byte the decoder kept a reference to
 * instead of copying would corrupt the output.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { lz4FrameDecoder } from "../../lib/codec/lz4/lz4_frame_reader.ts";
import { CodecError } from "../../lib/codec/codec_error.ts";
import { xxh32 } from "../../lib/codec/xxh32/xxh32.ts";
import { lz4Cli } from "../helpers/lz4_cli.ts";
import { concatBytes } from "../../lib/bytes.ts";

/** ~9 MiB shaped like database pages: text runs, random runs, zero pages. */
function pageLike(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const words = new TextEncoder().encode("node-17.fleet.example.com debian 6.1.42 web ");
  let x = 12345;
  for (let i = 0; i < n; i++) {
    const page = Math.floor(i / 4096);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (page % 5 === 4) b[i] = 0;
    else if (page % 3 === 1) b[i] = x & 0xff;
    else b[i] = words[(i * 3 + page) % words.length];
  }
  return b;
}

/** Decodes `frame` pushed in `sizes`-cycled pieces through one reused, then scribbled, buffer. */
function decodeTransient(frame: Uint8Array, sizes: number[]): Uint8Array {
  const dec = lz4FrameDecoder("t.lz4");
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(Math.max(...sizes));
  let off = 0;
  for (let i = 0; off < frame.length; i++) {
    const n = Math.min(sizes[i % sizes.length], frame.length - off);
    buf.set(frame.subarray(off, off + n));
    dec.push(buf.subarray(0, n), (block) => out.push(block.slice()), true);
    buf.fill(0xa5);
    off += n;
  }
  dec.end();
  return concatBytes(out);
}

Deno.test("push decoder: reused input buffers and reused output memory give the exact bytes", async () => {
  const data = pageLike(9 * 1024 * 1024 + 12345);
  for (const args of [["-B7", "--content-size"], ["-B4", "-BD"], ["-B5", "-BX", "--no-frame-crc"], ["-B6"]]) {
    const frame = await lz4Cli(["-q", "-c", ...args], data);
    for (const sizes of [[1 << 20], [65536, 7, 300001], [frame.length]]) {
      const got = decodeTransient(frame, sizes);
      assert(got.length === data.length, `${args} ${sizes}: ${got.length} bytes, want ${data.length}`);
      assertEquals(Buffer.compare(got, data), 0, `${args} ${sizes}: bytes differ`);
    }
  }
});

Deno.test("push decoder: truncation is an error at end()", async () => {
  const frame = await lz4Cli(["-q", "-c", "-B7"], pageLike(100_000));
  const dec = lz4FrameDecoder("t.lz4");
  dec.push(frame.subarray(0, frame.length - 3), () => {}, true);
  let err: unknown;
  try {
    dec.end();
  } catch (e) {
    err = e;
  }
  assert(err instanceof CodecError && /truncated/.test(err.message), String(err));
});

Deno.test("push decoder: a compressed block of the full 4 MiB with its block checksum", () => {
  const max = 4 << 20;
  // One last-sequence token of L literals: 1 token + k 0xFF bytes + 1 final length byte + L = 4 MiB.
  let lit = max - 2;
  while (1 + Math.floor((lit - 15) / 255) + 1 + lit > max) lit--;
  const k = Math.floor((lit - 15) / 255);
  assert(1 + k + 1 + lit === max && (lit - 15) % 255 !== 255);
  const block = new Uint8Array(max);
  block[0] = 0xf0;
  block.fill(0xff, 1, 1 + k);
  block[1 + k] = (lit - 15) - 255 * k;
  const data = block.subarray(2 + k);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 9)) & 0xff;
  const desc = new Uint8Array([0x70, 0x70]); // FLG: version 1, independent, block checksums; BD: 4 MiB
  const frame = new Uint8Array(4 + 3 + 4 + max + 4 + 4);
  const v = new DataView(frame.buffer);
  v.setUint32(0, 0x184d2204, true);
  frame.set(desc, 4);
  frame[6] = (xxh32(desc) >>> 8) & 0xff;
  v.setUint32(7, max, true);
  frame.set(block, 11);
  v.setUint32(11 + max, xxh32(block), true);
  v.setUint32(15 + max, 0, true);
  const want = data.slice();
  const got = decodeTransient(frame, [1 << 20]);
  assert(got.length === want.length, `${got.length} bytes, want ${want.length}`);
  assertEquals(Buffer.compare(got, want), 0);
});
