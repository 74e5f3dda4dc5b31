/**
 * Vectors for the pure side of the pinned image (lib/sqlite/snapshot_pages.ts, docs/sqlite-snapshot.md):
 * WAL-index headers that parse and ones that must not, frame lists that index and ones that must fail,
 * and page-1 checks.
 */
import assert from "node:assert/strict";
import {
  checkFirstPage,
  checkWalHeader,
  fileHoldsSnapshot,
  indexFrames,
  parseWalSnapshot,
  type WalSnapshot,
} from "../../lib/sqlite/snapshot_pages.ts";
import { type FrameHeader, WAL_MAGIC_LE, walChecksum } from "../../lib/sqlite/wal_format.ts";
import { WAL_INDEX_CHECKPOINT_BYTES } from "../../lib/sqlite/wal_index.ts";

/** A -shm prefix: both header copies (little-endian, as on x86_64 and aarch64) and nBackfill. */
function shm(
  f: { mxFrame: number; nPage: number; szPage: number; nBackfill: number; iChange?: number },
): Uint8Array {
  const b = new Uint8Array(WAL_INDEX_CHECKPOINT_BYTES);
  const v = new DataView(b.buffer);
  for (const off of [0, 48]) {
    v.setUint32(off, 3007000, true);
    v.setUint32(off + 8, f.iChange ?? 7, true);
    b[off + 12] = 1;
    v.setUint16(off + 14, f.szPage, true);
    v.setUint32(off + 16, f.mxFrame, true);
    v.setUint32(off + 20, f.nPage, true);
    v.setUint32(off + 32, 0x11223344, false);
    v.setUint32(off + 36, 0x55667788, false);
  }
  v.setUint32(96, f.nBackfill, true);
  return b;
}

const snap: WalSnapshot = {
  iChange: 7,
  mxFrame: 3,
  nPage: 5,
  pageSize: 4096,
  salt1: 0x11223344,
  salt2: 0x55667788,
  nBackfill: 1,
};

const frame = (pageNo: number, commitSize = 0, salt1 = snap.salt1): FrameHeader => ({
  pageNo,
  commitSize,
  salt1,
  salt2: snap.salt2,
  checksum1: 0,
  checksum2: 0,
});

Deno.test("WAL-index vectors: parsed, 65536-byte pages, nBackfill decides where pages live", () => {
  assert.deepEqual(parseWalSnapshot(shm({ mxFrame: 3, nPage: 5, szPage: 4096, nBackfill: 1 })), snap);
  assert.equal(parseWalSnapshot(shm({ mxFrame: 3, nPage: 5, szPage: 1, nBackfill: 0 }))?.pageSize, 65536);
  assert.equal(parseWalSnapshot(shm({ mxFrame: 3, nPage: 5, szPage: 512, nBackfill: 0 }))?.pageSize, 512);
  assert.equal(fileHoldsSnapshot(snap), false);
  assert.equal(fileHoldsSnapshot({ ...snap, nBackfill: 3 }), true);
  assert.equal(fileHoldsSnapshot({ ...snap, mxFrame: 0, nBackfill: 0 }), true);
});

Deno.test("WAL-index vectors that must fail: torn copies, uninitialised, short, unknown version", () => {
  const torn = shm({ mxFrame: 3, nPage: 5, szPage: 4096, nBackfill: 1 });
  torn[16] = 4; // copy 1 says mxFrame 4, copy 2 still 3: a writer is between the two
  assert.equal(parseWalSnapshot(torn), null);
  const uninit = shm({ mxFrame: 3, nPage: 5, szPage: 4096, nBackfill: 1 });
  uninit[12] = uninit[60] = 0;
  assert.equal(parseWalSnapshot(uninit), null);
  assert.equal(
    parseWalSnapshot(shm({ mxFrame: 3, nPage: 5, szPage: 4096, nBackfill: 1 }).subarray(0, 96)),
    null,
  );
  const other = shm({ mxFrame: 3, nPage: 5, szPage: 4096, nBackfill: 1 });
  other[0] = other[48] = 0x99; // a WAL2 or future wal-index version
  assert.equal(parseWalSnapshot(other), null);
});

Deno.test("frame vectors: the newest frame of each page wins; the last frame commits nPage", () => {
  const map = indexFrames([frame(2), frame(5), frame(2, 5)], snap);
  assert.deepEqual([...map.entries()].sort(), [[2, 3], [5, 2]]);
});

Deno.test("frame vectors that must fail", () => {
  const cases: [string, FrameHeader[], RegExp][] = [
    ["foreign salts", [frame(2), frame(5, 0, 0xdeadbeef), frame(2, 5)], /frame 2 does not belong/],
    ["page 0", [frame(0), frame(5), frame(2, 5)], /names page 0/],
    ["shorter than mxFrame", [frame(2), frame(2, 5)], /has 2 frames, the snapshot 3/],
    ["longer than mxFrame", [frame(2), frame(5), frame(2, 5), frame(3, 5)], /has 4 frames/],
    ["last frame no commit", [frame(2), frame(5), frame(2)], /not the snapshot's commit/],
    ["commit of another size", [frame(2), frame(5), frame(2, 4)], /database size 4, expected 5/],
  ];
  for (const [name, frames, message] of cases) {
    assert.throws(() => indexFrames(frames, snap), message, name);
  }
});

Deno.test("WAL header vectors: the snapshot's salts and page size, else refused", () => {
  const head = (salt1: number, pageSize: number) => {
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    v.setUint32(0, WAL_MAGIC_LE);
    v.setUint32(4, 3007000);
    v.setUint32(8, pageSize);
    v.setUint32(16, salt1);
    v.setUint32(20, snap.salt2);
    const [c1, c2] = walChecksum(false, 0, 0, b, 0, 24);
    v.setUint32(24, c1);
    v.setUint32(28, c2);
    return b;
  };
  assert.equal(checkWalHeader(head(snap.salt1, 4096), snap).pageSize, 4096);
  assert.throws(() => checkWalHeader(head(snap.salt1 + 1, 4096), snap), /does not belong/);
  assert.throws(() => checkWalHeader(head(snap.salt1, 1024), snap), /does not belong/);
  const bad = head(snap.salt1, 4096);
  bad[31] ^= 1;
  assert.throws(() => checkWalHeader(bad, snap), /not valid/);
});

Deno.test("page 1 vectors: the SQLite header of the snapshot's shape, else the problem in words", () => {
  const page1 = (f: { magic?: string; size?: number; count?: number; counter?: number; valid?: number }) => {
    const b = new Uint8Array(4096);
    b.set(new TextEncoder().encode(f.magic ?? "SQLite format 3\0"));
    const v = new DataView(b.buffer);
    v.setUint16(16, f.size ?? 4096);
    v.setUint32(24, f.counter ?? 9);
    v.setUint32(28, f.count ?? 5);
    v.setUint32(92, f.valid ?? 9);
    return b;
  };
  assert.equal(checkFirstPage(page1({}), 4096, 5), null);
  assert.equal(checkFirstPage(page1({ size: 1 }), 65536, 5), null);
  // A stale in-header size is ignored where SQLite ignores it (counter ≠ version-valid-for).
  assert.equal(checkFirstPage(page1({ count: 3, valid: 8 }), 4096, 5), null);
  assert.match(checkFirstPage(page1({ magic: "SQLite format 2\0" }), 4096, 5) ?? "", /does not start/);
  assert.match(checkFirstPage(page1({ size: 1024 }), 4096, 5) ?? "", /page size 1024, the snapshot 4096/);
  assert.match(checkFirstPage(page1({ count: 3 }), 4096, 5) ?? "", /says 3 pages, the snapshot 5/);
  assert.match(checkFirstPage(new Uint8Array(50), 4096, 5) ?? "", /shorter than the database header/);
});
