/**
 * WAL parsing and checksums against a WAL written by the real sqlite3, and the committed limit a
 * WAL-index puts on what is copied of it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  frameAlign,
  frameSize,
  isNextRestart,
  parseWalHeader,
  scanFrames,
  WAL_HEADER_SIZE,
  type WalHeader,
} from "../../lib/sqlite/wal_format.ts";
import { committedLimit } from "../../lib/replicate/sync_decision.ts";
import { walkFrames } from "../../lib/replicate/wal_copier.ts";
import { parseWalIndexHeader } from "../../lib/sqlite/wal_index.ts";

/** A WAL with `tx` committed one-row transactions, written by the sqlite3 CLI (kept open so the WAL stays). */
async function realWal(tx: number, pageSize = 4096): Promise<{ wal: Uint8Array; shm: Uint8Array }> {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/w.db`;
  const sql = [
    `PRAGMA page_size=${pageSize};`,
    "PRAGMA journal_mode=WAL;",
    "PRAGMA wal_autocheckpoint=0;",
    "CREATE TABLE t(x);",
  ];
  for (let i = 0; i < tx; i++) sql.push(`INSERT INTO t VALUES (randomblob(100));`);
  // `.shell cp` copies the WAL and shm while the connection is still open (on close SQLite
  // checkpoints and deletes the WAL).
  sql.push(`.shell cp ${db}-wal ${dir}/copy-wal; cp ${db}-shm ${dir}/copy-shm`);
  const out = await new Deno.Command("sqlite3", {
    args: [db],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(sql.join("\n") + "\n"));
  await w.close();
  assert((await out.status).success);
  const wal = await Deno.readFile(`${dir}/copy-wal`);
  const shm = await Deno.readFile(`${dir}/copy-shm`);
  await Deno.remove(dir, { recursive: true });
  return { wal, shm };
}

Deno.test("wal format: header and every frame of a real WAL verify; commits counted", async () => {
  const { wal, shm } = await realWal(5);
  const h = parseWalHeader(wal);
  assert(h, "header parses and its checksum verifies");
  const fs = frameSize(h.pageSize);
  const frames = (wal.length - WAL_HEADER_SIZE) / fs;
  const scan = scanFrames(h, [h.checksum1, h.checksum2], wal.subarray(WAL_HEADER_SIZE));
  assertEquals(scan.validBytes, frames * fs);
  assertEquals(scan.committedBytes, frames * fs);
  assertEquals(scan.commits, 6, "CREATE TABLE + 5 INSERTs");
  assert(!scan.stoppedAtInvalid);

  // The WAL-index agrees: 6 transactions, all frames committed, same salts.
  const wi = parseWalIndexHeader(shm);
  assert(wi);
  assertEquals(wi.mxFrame, frames);
  assertEquals([wi.salt1, wi.salt2], [h.salt1, h.salt2]);

  // One flipped byte in the last frame's page stops the chain there: that transaction is dropped.
  const bad = wal.slice();
  bad[bad.length - 10] ^= 1;
  const s2 = scanFrames(h, [h.checksum1, h.checksum2], bad.subarray(WAL_HEADER_SIZE));
  assert(s2.stoppedAtInvalid);
  assertEquals(s2.commits, 5);
  assertEquals(s2.committedBytes, (frames - 1) * fs);

  // A corrupted header is refused.
  const badHdr = wal.slice(0, 32);
  badHdr[17] ^= 1;
  assertEquals(parseWalHeader(badHdr), null);
});

Deno.test("committed limit: frames past the WAL-index's mxFrame are never copied", async () => {
  const { wal, shm } = await realWal(5);
  const h = parseWalHeader(wal)!;
  const fs = frameSize(h.pageSize);
  const frames = (wal.length - WAL_HEADER_SIZE) / fs;
  // A writer killed after writing its (checksum-valid) commit frame but before publishing it: the
  // WAL holds the frame, the WAL-index still counts one frame less.
  const killed = shm.slice();
  const le = new DataView(killed.buffer).getUint32(0, true) === 3007000;
  for (const copy of [0, 48]) new DataView(killed.buffer).setUint32(copy + 16, frames - 1, le);
  const wi = parseWalIndexHeader(killed);
  assert(wi);
  const limit = committedLimit(wi, h);
  assertEquals(limit, WAL_HEADER_SIZE + (frames - 1) * fs);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/w`, wal);
    const all = await walkFrames(`${dir}/w`, h, WAL_HEADER_SIZE, [h.checksum1, h.checksum2]);
    assertEquals(all.committedEnd, wal.length, "the chain alone accepts the unpublished frame");
    const cut = await walkFrames(
      `${dir}/w`,
      h,
      WAL_HEADER_SIZE,
      [h.checksum1, h.checksum2],
      undefined,
      limit!,
    );
    assertEquals([cut.committedEnd, cut.commits], [limit, 5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The two header copies disagree (a write in progress): no limit, copy nothing.
  const torn = killed.slice();
  torn[16] ^= 1;
  assertEquals(parseWalIndexHeader(torn), null);
  assertEquals(committedLimit(null, h), null);
  // A WAL-index describing another WAL (new salts after a reset) gives no limit for this one.
  assertEquals(committedLimit({ ...wi, salt1: (wi.salt1 + 1) >>> 0 }, h), null);
});

Deno.test("wal format: frame alignment and restart detection", () => {
  assertEquals(frameAlign(10, 4096), 0);
  assertEquals(frameAlign(32 + 4120 * 3 + 100, 4096), 32 + 4120 * 3);
  const a = { salt1: 0xffffffff, pageSize: 4096 } as WalHeader;
  assert(isNextRestart(a, { salt1: 0, pageSize: 4096 } as WalHeader), "salt-1 wraps");
  assert(!isNextRestart(a, { salt1: 1, pageSize: 4096 } as WalHeader));
});

Deno.test("wal format: a walk after one at another page size reads the whole WAL, not its first chunk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 4 KiB pages first: the walk keeps its read buffer (256 frames of 4,120 bytes) for the next.
    const big = (await realWal(300)).wal;
    const small = (await realWal(1500, 1024)).wal;
    for (const [name, wal] of [["big", big], ["small", small]] as const) {
      await Deno.writeFile(`${dir}/${name}`, wal);
      const h = parseWalHeader(wal)!;
      const end = await walkFrames(`${dir}/${name}`, h, WAL_HEADER_SIZE, [h.checksum1, h.checksum2]);
      // That buffer holds 1,006 frames of 1,048 bytes and 416 bytes over: the walk of the 1 KiB WAL
      // took the remainder for the end of the file and stopped after its first read.
      assertEquals([end.committedEnd, end.commits], [wal.length, name === "big" ? 301 : 1501], name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
