/**
 * The replicator's pure core: WAL parsing and checksums against a WAL written by the real sqlite3,
 * and the decision functions (sync verdicts, checkpoint policy, retention) on the cases that matter.
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
import {
  committedLimit,
  decideSync,
  emptiedWalHoldsNothingNew,
  mayRepinWithoutLock,
  nextSeal,
  stopMayEnd,
  type SyncFacts,
} from "../../lib/replicate/sync_decision.ts";
import { walkFrames } from "../../lib/replicate/wal_copier.ts";
import { decideCheckpoint, DEFAULT_CHECKPOINT_POLICY } from "../../lib/replicate/checkpoint_policy.ts";
import { planRetention } from "../../lib/replicate/retention.ts";
import { parseWalIndexHeader } from "../../lib/sqlite/wal_index.ts";
import { formatEvent } from "../../lib/replicate/event_log.ts";

/** A WAL with `tx` committed one-row transactions, written by the sqlite3 CLI (kept open so the WAL stays). */
async function realWal(tx: number): Promise<{ wal: Uint8Array; shm: Uint8Array }> {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/w.db`;
  const sql = ["PRAGMA journal_mode=WAL;", "PRAGMA wal_autocheckpoint=0;", "CREATE TABLE t(x);"];
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

const H = (salt1: number, salt2 = 7): WalHeader => ({
  bigEndianChecksum: false,
  pageSize: 4096,
  checkpointSeq: 0,
  salt1,
  salt2,
  checksum1: salt1 * 3,
  checksum2: salt2 * 5,
});

function facts(over: Partial<SyncFacts>): SyncFacts {
  return {
    generation: "0123456789abcdef",
    dbReplaced: false,
    walHeader: H(10),
    walSize: 32 + 4120 * 10,
    shadow: { index: 3, header: H(10), size: 32 + 4120 * 5 },
    anchorIntact: true,
    seal: null,
    walIndex: null,
    newWal: null,
    ...over,
  };
}

Deno.test("sync decision: same WAL copies; truncation or overwrite under us starts a new generation", () => {
  assertEquals(decideSync(facts({})).kind, "copy");
  assertEquals(decideSync(facts({ generation: null })).kind, "new-generation");
  assertEquals(decideSync(facts({ dbReplaced: true })), {
    kind: "new-generation",
    reason: "database file replaced",
  });
  assertEquals(decideSync(facts({ walSize: 32 })).kind, "new-generation");
  assertEquals(decideSync(facts({ anchorIntact: false })).kind, "new-generation");
});

Deno.test("sync decision: a WAL reset is followed only with proof", () => {
  const restarted = { walHeader: H(11, 99) };
  // Old frames past our copy still intact: copy them, then follow the new WAL.
  assertEquals(decideSync(facts(restarted)), { kind: "restart", copyOldTail: true });
  // Overwritten and no seal: continuity unknown.
  assertEquals(decideSync(facts({ ...restarted, anchorIntact: false })).kind, "new-generation");
  // Two resets (salt-1 moved by 2) and no proof.
  assertEquals(decideSync(facts({ walHeader: H(12), anchorIntact: true })).kind, "new-generation");
  // The seal + WAL-index transaction count prove it, even after an application TRUNCATE.
  const seal = { index: 3, size: 32 + 4120 * 5, salt1: 10, iChange: 500 };
  const proven = facts({
    ...restarted,
    anchorIntact: false,
    walSize: 32 + 4120 * 2,
    seal,
    walIndex: { iChange: 502, mxFrame: 2, salt1: 11, salt2: 99 },
    newWal: { committedFrames: 2, commits: 2 },
  });
  assertEquals(decideSync(proven), { kind: "restart", copyOldTail: false });
  // One transaction more than the new WAL holds: it was in the old WAL and is lost to us.
  assertEquals(
    decideSync({ ...proven, walIndex: { iChange: 503, mxFrame: 2, salt1: 11, salt2: 99 } }).kind,
    "new-generation",
  );
  // ... unless the old tail is still there: then exactly that one transaction is copied from it
  // (a killed writer's unpublished frames after it are not).
  assertEquals(
    decideSync({
      ...proven,
      anchorIntact: true,
      walSize: 32 + 4120 * 6,
      walIndex: { iChange: 503, mxFrame: 2, salt1: 11, salt2: 99 },
    }),
    { kind: "restart", copyOldTail: true, tailCommits: 1 },
  );
  // More transactions in the new WAL than counted: no proof, only the last mxFrame seen is trusted.
  assertEquals(
    decideSync({
      ...proven,
      anchorIntact: true,
      walSize: 32 + 4120 * 6,
      walIndex: { iChange: 501, mxFrame: 2, salt1: 11, salt2: 99 },
    }),
    { kind: "restart", copyOldTail: true },
  );
  // A seal of an older shadow state proves nothing.
  assertEquals(decideSync({ ...proven, seal: { ...seal, size: seal.size - 4120 } }).kind, "new-generation");
});

Deno.test("sync decision: two restarts with commits in the WAL between them cost a generation, seal or not", () => {
  // What an application's TRUNCATE every 300 transactions did while we waited for the write lock: the
  // seal proves 400 commits since, 100 are in the WAL now, and the other 300 were in a WAL that is gone
  // (salt-1 moved by 2); only the database file holds them.
  const f = facts({
    walHeader: H(12, 99),
    walSize: 32 + 4120 * 106,
    anchorIntact: false,
    seal: { index: 3, size: 32 + 4120 * 5, salt1: 10, iChange: 605 },
    walIndex: { iChange: 1005, mxFrame: 106, salt1: 12, salt2: 99 },
    newWal: { committedFrames: 106, commits: 100 },
  });
  assertEquals(decideSync(f), {
    kind: "new-generation",
    reason: "wal restarted more than once or recreated by another process",
  });
  // Without commits in between, the count proves the restarts lossless.
  assertEquals(decideSync({ ...f, walIndex: { iChange: 705, mxFrame: 106, salt1: 12, salt2: 99 } }), {
    kind: "restart",
    copyOldTail: false,
  });
});

Deno.test("yield: pin again without the lock once the WAL we let go of is checkpointed, restarted or written", () => {
  const letGo = { mxFrame: 40, salt1: 10, salt2: 7 };
  const now = (mxFrame: number, nBackfill: number | undefined, salt1 = 10, salt2 = 7) => ({
    mxFrame,
    nBackfill,
    salt1,
    salt2,
  });
  // A blocking checkpoint still waiting to copy frames our read held back: a pin would stop it again.
  assert(!mayRepinWithoutLock(now(40, 25), letGo));
  // Every frame copied back: a pin reads the database file alone and stops no checkpoint or restart.
  assert(mayRepinWithoutLock(now(40, 40), letGo));
  // The WAL was restarted (TRUNCATE's empty WAL, or a writer's first frames after RESTART/FULL).
  assert(mayRepinWithoutLock(now(0, 0, 11, 99), letGo));
  assert(mayRepinWithoutLock(now(12, 0, 11, 99), letGo));
  assert(mayRepinWithoutLock(now(12, 0, 10, 99), letGo), "salt-2 alone differs");
  // The holder was a writer and has committed.
  assert(mayRepinWithoutLock(now(41, 25), letGo));
  // Unreadable WAL-index, or no nBackfill read: wait for the lock as before.
  assert(!mayRepinWithoutLock(null, letGo));
  assert(!mayRepinWithoutLock(now(40, undefined), letGo));
});

Deno.test("seal: renewed when the WAL-index counts exactly the shadow, kept while the shadow is unchanged", () => {
  const shadow = { index: 3, size: 32 + 4120 * 5, header: H(10) };
  const last = { index: 3, size: 32 + 4120 * 5, salt1: 10, iChange: 500 };
  assertEquals(nextSeal(last, shadow, { iChange: 510 }), { ...last, iChange: 510 });
  assertEquals(nextSeal(null, shadow, { iChange: 510 }), { ...last, iChange: 510 });
  // The WAL-index moved on during a copy of nothing (the WAL restarting): the last seal still holds.
  assertEquals(nextSeal(last, shadow, null), last);
  // The shadow grew, or follows another index or WAL, since: that seal says nothing about it.
  assertEquals(nextSeal(last, { ...shadow, size: shadow.size + 4120 }, null), null);
  assertEquals(nextSeal(last, { ...shadow, index: 4 }, null), null);
  assertEquals(nextSeal(last, { ...shadow, header: H(11) }, null), null);
  assertEquals(nextSeal(null, shadow, null), null);
});

Deno.test("emptied WAL: waited on only while the seal counts every commit the WAL-index has", () => {
  const shadow = { index: 3, size: 32 + 4120 * 5, header: H(10) };
  const seal = { index: 3, size: 32 + 4120 * 5, salt1: 10, iChange: 500 };
  assert(emptiedWalHoldsNothingNew(seal, shadow, { iChange: 500, mxFrame: 0 }));
  // A commit after our last copy, which the TRUNCATE took into the database file: judge it now.
  assert(!emptiedWalHoldsNothingNew(seal, shadow, { iChange: 501, mxFrame: 0 }));
  // No proof (no seal, one of another shadow or WAL, an unreadable WAL-index), or frames published.
  assert(!emptiedWalHoldsNothingNew(null, shadow, { iChange: 500, mxFrame: 0 }));
  assert(
    !emptiedWalHoldsNothingNew({ ...seal, size: seal.size - 4120 }, shadow, { iChange: 500, mxFrame: 0 }),
  );
  assert(!emptiedWalHoldsNothingNew({ ...seal, index: 2 }, shadow, { iChange: 500, mxFrame: 0 }));
  assert(!emptiedWalHoldsNothingNew({ ...seal, salt1: 9 }, shadow, { iChange: 500, mxFrame: 0 }));
  assert(!emptiedWalHoldsNothingNew(seal, shadow, null));
  assert(!emptiedWalHoldsNothingNew(seal, shadow, { iChange: 500, mxFrame: 2 }));
});

Deno.test("stop: ends only when no commit counted is missing from the shadow", () => {
  const shadow = { index: 3, size: 32 + 4120 * 5, header: H(10) };
  const seal = { index: 3, size: shadow.size, salt1: 10, iChange: 500 };
  const wi = (salt1: number, mxFrame: number, iChange: number) => ({
    iChange,
    mxFrame,
    nPage: 4,
    pageSize: 4096,
    salt1,
    salt2: shadow.header.salt2,
  });
  // Pinned: the step copied what our WAL published; frames published since came after it.
  assert(stopMayEnd(false, seal, shadow, wi(10, 5, 500)));
  assert(stopMayEnd(false, null, shadow, wi(10, 9, 504)));
  // A TRUNCATE reset the WAL-index (the file still shows our WAL): fine only when nothing was committed
  // since the seal; one commit more is in the database file alone and needs another step.
  assert(stopMayEnd(false, seal, shadow, wi(11, 0, 500)));
  assert(!stopMayEnd(false, seal, shadow, wi(11, 0, 501)));
  assert(!stopMayEnd(false, null, shadow, wi(11, 0, 500)));
  // A restart with frames in the new WAL: the step has not followed it.
  assert(!stopMayEnd(false, seal, shadow, wi(11, 2, 502)));
  assert(!stopMayEnd(false, seal, shadow, null));
  // Unpinned: only our WAL with nothing published past our copy.
  assert(stopMayEnd(true, seal, shadow, wi(10, 5, 500)));
  assert(!stopMayEnd(true, seal, shadow, wi(10, 6, 501)));
  assert(!stopMayEnd(true, seal, shadow, wi(11, 0, 500)));
});

Deno.test("checkpoint policy: passive by size or idleness, truncate when large, never blocking modes", () => {
  const p = DEFAULT_CHECKPOINT_POLICY;
  assertEquals(decideCheckpoint(10, 0, p), "none");
  assertEquals(decideCheckpoint(p.minFrames, 0, p), "passive");
  assertEquals(decideCheckpoint(5, p.idleMs, p), "passive");
  assertEquals(decideCheckpoint(1, p.idleMs, p), "none");
  assertEquals(decideCheckpoint(p.truncateFrames, 0, p), "truncate");
});

Deno.test("retention: keeps the current generation, prunes before the oldest retained snapshot", () => {
  const now = new Date("2026-01-31T00:00:00Z");
  const day = 86_400_000;
  const snap = (generation: string, index: number, daysAgo: number) => ({
    generation,
    index,
    size: 1,
    createdAt: new Date(now.getTime() - daysAgo * day),
  });
  const cur = "bbbbbbbbbbbbbbbb";
  const old = "aaaaaaaaaaaaaaaa";
  const plan = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 20), snap(cur, 4, 5), snap(cur, 9, 1)],
    current: cur,
    currentIndex: 12,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(plan, {
    needSnapshot: false,
    deleteGenerations: [old],
    deleteBefore: [{ generation: cur, index: 4 }],
  });

  // No snapshot of the current generation inside the window, the newest at the current WAL index (an
  // idle database keeps its index, and an index is snapshotted once): that one stays the start, older
  // generations still go.
  const idle = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 30), snap(cur, 3, 20)],
    current: cur,
    currentIndex: 3,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(idle, {
    needSnapshot: false,
    deleteGenerations: [old],
    deleteBefore: [{ generation: cur, index: 3 }],
  });

  // The same, but the database has moved on since (index 7): snapshot first, delete nothing yet, so the
  // WAL below a fresh snapshot goes then (retention shorter than snapshot_interval).
  const busy = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40), snap(cur, 0, 30), snap(cur, 3, 20)],
    current: cur,
    currentIndex: 7,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(busy, { needSnapshot: true, deleteGenerations: [], deleteBefore: [] });

  // No snapshot of the current generation at all: snapshot first, delete nothing yet.
  const none = planRetention({
    generations: [old, cur],
    snapshots: [snap(old, 0, 40)],
    current: cur,
    currentIndex: 0,
    now,
    retentionMs: 10 * day,
  });
  assertEquals(none, { needSnapshot: true, deleteGenerations: [], deleteBefore: [] });
});

Deno.test("event log: one line, key=value, quoted when needed", () => {
  const line = formatEvent("INFO", "wal segment uploaded", { index: 1, path: "a b" }, new Date(0));
  assertEquals(
    line,
    'time=1970-01-01T00:00:00.000Z level=INFO msg="wal segment uploaded" index=1 path="a b"',
  );
  assert(!line.includes("\n"));
});
