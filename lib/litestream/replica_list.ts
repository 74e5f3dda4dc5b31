/**
 * Reading a replica's contents: the raw per-generation listings restore plans from, and the
 * summary `vigocli backup replica list` prints (generations, snapshots, WAL range, time span).
 */
import type { ReplicaClient } from "./replica_client.ts";
import { chooseGeneration, type GenerationListing, withoutEmptySnapshots } from "./restore_plan.ts";
import { hex8 } from "./paths.ts";

/** Lists every generation's snapshots and WAL segments. */
export async function readListings(client: ReplicaClient): Promise<GenerationListing[]> {
  const out: GenerationListing[] = [];
  for (const generation of await client.generations()) {
    const [snapshots, segments] = await Promise.all([
      client.snapshots(generation),
      client.walSegments(generation),
    ]);
    out.push({ generation, snapshots, segments });
  }
  return out;
}

/** A WAL position as (index, offset). */
export interface WalPosition {
  index: number;
  offset: number;
}

/** One generation as `replica list` shows it. */
export interface GenerationSummary {
  generation: string;
  snapshots: { index: number; size: number; createdAt: Date }[];
  walSegments: number;
  /** Stored (compressed) bytes of all WAL segments. */
  walBytes: number;
  /** First and last WAL segment positions, null when there are none. */
  walFirst: WalPosition | null;
  walLast: WalPosition | null;
  /**
   * The earliest time it restores to: its oldest snapshot's (retention keeps WAL segments uploaded just
   * before that snapshot, which no restore can use: one listed start was refused by `restore --timestamp`);
   * without a snapshot, its oldest object's. Null when the generation is empty.
   */
  createdAt: Date | null;
  /** Its newest object's creation time, null when the generation is empty. */
  updatedAt: Date | null;
}

/** The whole replica as `replica list` shows it. */
export interface ReplicaSummary {
  url: string;
  /** Oldest first (by first object time). */
  generations: GenerationSummary[];
  /** The generation a restore without `--generation`/`--timestamp` would use, null when none can. */
  latestGeneration: string | null;
}

/** Summarises `listings` (pure). */
function summarize(url: string, listings: GenerationListing[]): ReplicaSummary {
  const generations = listings.map((g): GenerationSummary => {
    const times = [...g.snapshots, ...g.segments].map((o) => o.createdAt.getTime());
    const snapshots = g.snapshots.filter((s) => s.size > 0).map((s) => s.createdAt.getTime());
    const earliest = snapshots.length ? snapshots : times;
    const segs = g.segments;
    return {
      generation: g.generation,
      snapshots: g.snapshots.map((s) => ({ index: s.index, size: s.size, createdAt: s.createdAt })),
      walSegments: segs.length,
      walBytes: segs.reduce((n, s) => n + s.size, 0),
      walFirst: segs.length ? { index: segs[0].index, offset: segs[0].offset } : null,
      walLast: segs.length
        ? { index: segs[segs.length - 1].index, offset: segs[segs.length - 1].offset }
        : null,
      createdAt: earliest.length ? new Date(earliest.reduce((a, b) => Math.min(a, b))) : null,
      updatedAt: times.length ? new Date(times.reduce((a, b) => Math.max(a, b))) : null,
    };
  });
  generations.sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
  let latestGeneration: string | null = null;
  try {
    // What restore would choose: it skips empty snapshot objects, so a generation holding only one
    // is not restored by default.
    latestGeneration = chooseGeneration(withoutEmptySnapshots(listings), {}, url);
  } catch {
    latestGeneration = null;
  }
  return { url, generations, latestGeneration };
}

/** Reads and summarises the replica behind `client`. */
export async function listReplica(client: ReplicaClient): Promise<ReplicaSummary> {
  return summarize(client.backend.url, await readListings(client));
}

const pos = (p: WalPosition | null) => (p ? `${hex8(p.index)}:${p.offset}` : "-");
// Milliseconds included: a time copied from here into `restore --timestamp` must not fall before the
// object it names.
const time = (d: Date | null) => (d ? d.toISOString() : "-");

/** Human-readable table of a summary, one generation per block (what `replica list` prints). */
export function formatSummary(s: ReplicaSummary): string {
  if (s.generations.length === 0) return `${s.url}: no generations\n`;
  const lines = [`replica ${s.url}`];
  for (const g of s.generations) {
    const mark = g.generation === s.latestGeneration ? "  (latest: restored by default)" : "";
    lines.push(
      "",
      `generation ${g.generation}${mark}`,
      `  time span     ${time(g.createdAt)} .. ${time(g.updatedAt)}`,
      `  WAL           ${g.walSegments} segment(s), ${g.walBytes} bytes, ${pos(g.walFirst)} .. ${
        pos(g.walLast)
      }`,
      `  snapshots     ${g.snapshots.length}`,
    );
    for (const sn of g.snapshots) {
      lines.push(`    index ${hex8(sn.index)}  ${String(sn.size).padStart(12)} bytes  ${time(sn.createdAt)}`);
    }
  }
  return lines.join("\n") + "\n";
}
