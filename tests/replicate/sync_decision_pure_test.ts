/**
 * The replicator's sync decisions (lib/replicate/sync_decision.ts) on the cases that matter: the sync
 * verdict, pinning again while yielding, the seal, waiting on an emptied WAL, and when a stop may end.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { WalHeader } from "../../lib/sqlite/wal_format.ts";
import {
  decideSync,
  emptiedWalHoldsNothingNew,
  mayRepinWithoutLock,
  nextSeal,
  stopMayEnd,
  type SyncFacts,
} from "../../lib/replicate/sync_decision.ts";

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

Deno.test("sync decision: a shadow index without a frame has no anchor once the new WAL has one", () => {
  // Index 2 held only its WAL's header when that WAL restarted: the new WAL's first frame overwrote the
  // old WAL's first, so an old tail that is not there any more is not proof that none was committed
  // (replicate_stress seed 2449719061: restores of the replica malformed from the next index on).
  const empty = { index: 2, header: H(10), size: 32 };
  const restarted = { walHeader: H(11, 99), shadow: empty, anchorIntact: true };
  assertEquals(
    decideSync(facts({ ...restarted, newWal: { committedFrames: 3, commits: 1 } })).kind,
    "new-generation",
  );
  // A new WAL with no frame yet leaves the old one's frames where they were.
  assertEquals(decideSync(facts({ ...restarted, newWal: { committedFrames: 0, commits: 0 } })), {
    kind: "restart",
    copyOldTail: true,
  });
});
