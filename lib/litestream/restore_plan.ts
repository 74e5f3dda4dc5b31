/**
 * Which objects a restore uses — pure decisions over a replica listing, no I/O.
 *
 * Where this departs from Litestream v0.3.13, and why:
 * - Generation choice (#631, #627): only generations with a usable snapshot (at or before the
 *   target time) compete, and the winner is the one whose newest object at or before the target is
 *   newest. v0.3.13 may pick a generation with no snapshot at all and then fail.
 * - Point in time (#564): v0.3.13 skips every generation whose last object is older than the
 *   timestamp ("no matching backups found" for a quiet database). Here a generation covers every
 *   time from its first snapshot on; a later timestamp simply restores all of it.
 * - "missing initial wal segment" (#224, #535, #805): v0.3.13 insists that every WAL index in the
 *   generation starts at offset 0, even indexes before the chosen snapshot that retention has
 *   half-deleted. Only the indexes from the snapshot on are needed, so only those are checked.
 * - Gaps: v0.3.13 concatenates whatever segments exist; SQLite then ignores everything after a
 *   gap and the restore silently yields an older database. Here a missing index or segment is an
 *   error naming it (offsets inside an index are checked again while the bytes stream).
 * - A snapshot holds pages checkpointed from its WAL index before it was taken. Cutting that same
 *   index at a timestamp could mix newer snapshot pages with older WAL pages, so a point-in-time
 *   restore prefers an older snapshot whose chain reaches the cut through whole indexes.
 */
import { BadInputError, NotFoundError } from "../errors.ts";
import type { SnapshotInfo, WalSegmentInfo } from "./replica_client.ts";
import { formatWalSegmentName, hex8, snapshotKey, walSegmentKey } from "./paths.ts";

/** Everything stored for one generation. */
export interface GenerationListing {
  generation: string;
  snapshots: SnapshotInfo[];
  /** Sorted by (index, offset). */
  segments: WalSegmentInfo[];
}

/** What to restore. */
export interface RestoreTarget {
  /** Restore this generation only. */
  generation?: string;
  /** Restore the state as of this time (objects created after it are not used). */
  timestamp?: Date;
}

/** The objects a restore applies, in order. */
export interface RestorePlan {
  generation: string;
  snapshot: SnapshotInfo;
  /** WAL segments from the snapshot's index on, in (index, offset) order. */
  segments: WalSegmentInfo[];
  /** Creation time of the newest object used: the state the restore reproduces. */
  restoredUpTo: Date;
  /** Notes for the operator (e.g. a cut inside the snapshot's own WAL index). */
  warnings: string[];
}

const iso = (d: Date) => d.toISOString();
const min = (a: number, b: number) => Math.min(a, b);

/** Creation time of the newest object of `g` at or before `t` (all objects when `t` is absent). */
function latestObjectTime(g: GenerationListing, t?: Date): Date | null {
  let best: Date | null = null;
  for (const o of [...g.snapshots, ...g.segments]) {
    if (t && o.createdAt > t) continue;
    if (!best || o.createdAt > best) best = o.createdAt;
  }
  return best;
}

/**
 * The generation a restore should use: among those with a snapshot at or before the target, the
 * one whose newest object (at or before the target) is newest; ties go to the later first snapshot.
 */
export function chooseGeneration(
  listings: GenerationListing[],
  target: RestoreTarget,
  where: string,
): string {
  if (target.generation) {
    if (!listings.some((g) => g.generation === target.generation)) {
      throw new NotFoundError(`${where}: generation ${target.generation} not found`);
    }
    return target.generation;
  }
  if (listings.length === 0) {
    throw new NotFoundError(`${where}: no generations found (nothing replicated here yet)`);
  }
  let best: { gen: string; latest: Date; first: Date } | null = null;
  for (const g of listings) {
    const base = g.snapshots.filter((s) => !target.timestamp || s.createdAt <= target.timestamp);
    if (base.length === 0) continue;
    const latest = latestObjectTime(g, target.timestamp)!;
    const first = new Date(base.map((s) => s.createdAt.getTime()).reduce(min));
    if (!best || latest > best.latest || (+latest === +best.latest && first > best.first)) {
      best = { gen: g.generation, latest, first };
    }
  }
  if (!best) {
    if (target.timestamp) {
      const firsts = listings.flatMap((g) => g.snapshots.map((s) => s.createdAt.getTime()));
      const earliest = firsts.length ? ` (earliest snapshot: ${iso(new Date(firsts.reduce(min)))})` : "";
      throw new NotFoundError(`${where}: no snapshot at or before ${iso(target.timestamp)}${earliest}`);
    }
    throw new NotFoundError(
      `${where}: no generation has a snapshot (${listings.length} generation(s) found)`,
    );
  }
  return best.gen;
}

interface Chain {
  segments: WalSegmentInfo[];
  /** True when the target time cuts the snapshot's own WAL index short. */
  cutInsideSnapshotIndex: boolean;
}

/** Segments from `snap` up to the target, checked for missing indexes and missing starts. */
function chainFrom(g: GenerationListing, snap: SnapshotInfo, t: Date | undefined, where: string): Chain {
  const all = g.segments.filter((s) => s.index >= snap.index);
  let used = all;
  if (t) {
    const cut = all.findIndex((s) => s.createdAt > t);
    if (cut >= 0) used = all.slice(0, cut);
  }
  const cutInsideSnapshotIndex = used.length < all.length && all[used.length].index === snap.index;
  let expectIndex = snap.index;
  let prev: WalSegmentInfo | null = null;
  for (const s of used) {
    if (prev && s.index === prev.index) {
      prev = s; // offsets inside an index are checked while streaming
      continue;
    }
    if (s.index !== expectIndex || s.offset !== 0) {
      const missing = s.index !== expectIndex
        ? `WAL index ${hex8(expectIndex)} is missing entirely`
        : `the segment at offset 0 (${formatWalSegmentName(s.index, 0)}) is missing`;
      const lastGood = prev
        ? ` The newest consistent state ends at ${walSegmentKey(g.generation, prev.index, prev.offset)} ` +
          `(created ${iso(prev.createdAt)}); restore up to it with --timestamp ${iso(prev.createdAt)}.`
        : "";
      throw new BadInputError(
        `${where}: generation ${g.generation}: WAL gap after snapshot ${
          snapshotKey(g.generation, snap.index)
        }: ` +
          `${missing} before ${walSegmentKey(g.generation, s.index, s.offset)}.${lastGood}`,
      );
    }
    prev = s;
    expectIndex = s.index + 1;
  }
  return { segments: used, cutInsideSnapshotIndex };
}

/**
 * `all` without its empty snapshot objects. Litestream v0.3.13 writes sftp (and file) snapshots in
 * place: created empty, then filled. One it was interrupted writing — or is still writing — lists as an
 * empty object, which no LZ4 frame is. Skipping it lets an older snapshot and its WAL restore the same
 * state.
 */
export function withoutEmptySnapshots(all: GenerationListing[]): GenerationListing[] {
  return all.map((g) => ({ ...g, snapshots: g.snapshots.filter((s) => s.size > 0) }));
}

/** Plans a restore of `target` from the replica's listings. Throws a named error when it cannot. */
export function planRestore(
  all: GenerationListing[],
  target: RestoreTarget,
  where: string,
): RestorePlan {
  const empty = all.flatMap((g) => g.snapshots.filter((s) => s.size === 0));
  const listings = withoutEmptySnapshots(all);
  const generation = chooseGeneration(listings, target, where);
  const g = listings.find((l) => l.generation === generation)!;
  const t = target.timestamp;
  const warnings = empty.filter((s) => s.generation === generation).map((s) =>
    `skipped empty snapshot ${snapshotKey(s.generation, s.index)} (a write interrupted or in progress)`
  );
  const candidates = g.snapshots
    .filter((s) => !t || s.createdAt <= t)
    .sort((a, b) => b.index - a.index || +b.createdAt - +a.createdAt);
  if (candidates.length === 0) {
    throw new NotFoundError(
      `${where}: generation ${generation} has no snapshot${t ? ` at or before ${iso(t)}` : ""}`,
    );
  }
  let chosen: { snap: SnapshotInfo; chain: Chain } | null = null;
  let firstError: unknown = null;
  for (const snap of candidates) {
    let chain: Chain;
    try {
      chain = chainFrom(g, snap, t, where);
    } catch (err) {
      // Only the newest snapshot's chain decides; older ones may help only for a cut (below).
      if (!chosen && firstError === null) firstError = err;
      break;
    }
    if (!chosen) chosen = { snap, chain };
    if (!chain.cutInsideSnapshotIndex) {
      chosen = { snap, chain };
      break;
    }
  }
  if (!chosen) throw firstError;
  if (chosen.chain.cutInsideSnapshotIndex) {
    warnings.push(
      `the point in time ${iso(t!)} falls inside WAL index ${hex8(chosen.snap.index)} of snapshot ` +
        `${snapshotKey(generation, chosen.snap.index)} and no older snapshot can replace it: pages the ` +
        "snapshot already held may be newer than that time",
    );
  }
  const restoredUpTo = new Date(
    chosen.chain.segments.reduce(
      (m, s) => Math.max(m, s.createdAt.getTime()),
      chosen.snap.createdAt.getTime(),
    ),
  );
  return { generation, snapshot: chosen.snap, segments: chosen.chain.segments, restoredUpTo, warnings };
}

/** Groups a plan's segments by WAL index, keeping their order (each index is applied as one WAL). */
export function segmentsByIndex(segments: WalSegmentInfo[]): WalSegmentInfo[][] {
  const groups: WalSegmentInfo[][] = [];
  for (const s of segments) {
    const last = groups[groups.length - 1];
    if (last && last[0].index === s.index) last.push(s);
    else groups.push([s]);
  }
  return groups;
}
