/**
 * walChecksum (lib/sqlite/wal_format.ts) has two loops — native words for aligned input in the host's
 * byte order, a DataView otherwise — and both must give SQLite's checksum: against the formula with
 * unsigned arithmetic on random bytes, offsets and seeds, and against a WAL written by SQLite itself.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import {
  frameSize,
  parseWalHeader,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  walChecksum,
} from "../../lib/sqlite/wal_format.ts";

/** SQLite's formula (wal.c, walChecksumBytes) word by word, in unsigned 32-bit arithmetic. */
function reference(bigEndian: boolean, s0: number, s1: number, b: Uint8Array): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < b.length; i += 8) {
    s0 = (s0 + v.getUint32(i, !bigEndian) + s1) % 2 ** 32;
    s1 = (s1 + v.getUint32(i + 4, !bigEndian) + s0) % 2 ** 32;
  }
  return [s0, s1];
}

Deno.test("walChecksum: equals SQLite's formula at every alignment, byte order and seed", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2048 }),
      fc.integer({ min: 0, max: 7 }),
      fc.boolean(),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
      (bytes, shift, bigEndian, s0, s1) => {
        const data = bytes.subarray(0, bytes.length & ~7);
        const buf = new Uint8Array(shift + data.length);
        buf.set(data, shift);
        const want = reference(bigEndian, s0, s1, data);
        assert.deepEqual(walChecksum(bigEndian, s0, s1, buf, shift), want);
        assert.deepEqual(walChecksum(bigEndian, s0, s1, buf.subarray(shift)), want);
        // Continuing from a split gives the same as one pass.
        const cut = shift + ((data.length >>> 4) << 3);
        const first = walChecksum(bigEndian, s0, s1, buf, shift, cut);
        assert.deepEqual(walChecksum(bigEndian, first[0], first[1], buf, cut), want);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("walChecksum: refuses a length that is not a multiple of 8", () => {
  assert.throws(() => walChecksum(false, 0, 0, new Uint8Array(12)), RangeError);
});

Deno.test("walChecksum: verifies the header and every frame of a WAL SQLite wrote, aligned or not", () => {
  const dir = Deno.makeTempDirSync();
  const db = new DatabaseSync(`${dir}/t.db`);
  try {
    db.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x)");
    for (let i = 0; i < 20; i++) db.exec(`INSERT INTO t VALUES (randomblob(${300 * i}))`);
    const wal = Deno.readFileSync(`${dir}/t.db-wal`);
    for (const shift of [0, 1, 4]) {
      const buf = new Uint8Array(shift + wal.length);
      buf.set(wal, shift);
      const view = buf.subarray(shift);
      const hdr = parseWalHeader(view);
      assert.ok(hdr, `header at offset ${shift}`);
      const fs = frameSize(hdr.pageSize);
      const frames = (wal.length - WAL_HEADER_SIZE) / fs;
      assert.ok(frames >= 20 && Number.isInteger(frames));
      let sum: [number, number] = [hdr.checksum1, hdr.checksum2];
      const stored = new DataView(wal.buffer);
      for (let i = 0; i < frames; i++) {
        const at = WAL_HEADER_SIZE + i * fs;
        sum = walChecksum(hdr.bigEndianChecksum, sum[0], sum[1], view, at, at + 8);
        sum = walChecksum(hdr.bigEndianChecksum, sum[0], sum[1], view, at + WAL_FRAME_HEADER_SIZE, at + fs);
        assert.deepEqual(sum, [stored.getUint32(at + 16), stored.getUint32(at + 20)], `frame ${i + 1}`);
      }
    }
  } finally {
    db.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
