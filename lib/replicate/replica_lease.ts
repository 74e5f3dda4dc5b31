/**
 * One replicator per replica URL. The local lock (lib/fsutil/file_lock.ts) keeps a second
 * replicator off a database; it cannot see another host, or another database of this host, writing
 * to the same URL — each would start its own generation, restores would pick whichever is newest,
 * and each one's retention would delete the other's generations.
 *
 * So a replicator claims the replica: `vigocli-replicator.json` at the replica root (outside
 * `generations/`, so Litestream and restores never look at it) names the host, PID, database and a
 * per-process instance id, with a heartbeat refreshed on every check. Format: docs/replica-format.md.
 * Writers that take no lease (Litestream, a cloned machine continuing our generation) show up as WAL
 * segments of our generation that we did not write: {@link findForeignSegment}.
 */
import { hostname } from "node:os";
import process from "node:process";
import { randomBytes } from "node:crypto";
import type { Backend } from "../backend/backend.ts";
import { BusyError, NotFoundError } from "../errors.ts";
import { formatWalSegmentName, parseReplicaKey, walDir } from "../litestream/paths.ts";
import type { Pos } from "../litestream/replica_client.ts";

/** The lease object's key, relative to the replica root. */
export const LEASE_KEY = "vigocli-replicator.json";

/** A claim on the replica. */
export interface Lease {
  host: string;
  pid: number;
  db: string;
  instance: string;
  /** Last refresh (ISO 8601, the writer's clock). */
  heartbeat: string;
}

/** What a starting replicator does with the claim it finds. */
export type LeaseVerdict = { kind: "take" } | { kind: "refuse"; holder: Lease };

/**
 * Decides at start. Taken over: nothing claimed, a claim not refreshed for `staleMs` (its writer is
 * gone), or a claim by this host for this database (our local lock proves its writer is gone: a
 * restart after a crash). Anything else is another live replicator.
 */
export function judgeLeaseAtStart(
  found: Lease | null,
  me: { host: string; db: string },
  now: Date,
  staleMs: number,
): LeaseVerdict {
  if (!found) return { kind: "take" };
  if (found.host === me.host && found.db === me.db) return { kind: "take" };
  const beat = Date.parse(found.heartbeat);
  if (!Number.isFinite(beat) || now.getTime() - beat > staleMs) return { kind: "take" };
  return { kind: "refuse", holder: found };
}

/** Parses a lease body; null when it is not one (treated as no claim). */
export function parseLease(text: string): Lease | null {
  try {
    const v = JSON.parse(text);
    if (
      typeof v?.host === "string" && Number.isInteger(v.pid) && typeof v.db === "string" &&
      typeof v.instance === "string" && typeof v.heartbeat === "string"
    ) {
      return { host: v.host, pid: v.pid, db: v.db, instance: v.instance, heartbeat: v.heartbeat };
    }
  } catch {
    // Not JSON: no usable claim.
  }
  return null;
}

/**
 * A segment of our current WAL index that starts past our upload position, which only another
 * writer can have stored. (One starting exactly at the position may be our own upload that landed
 * although its request failed; it is not counted.)
 */
export function foreignSegment(
  segments: { index: number; offset: number }[],
  pos: { index: number; offset: number },
): { index: number; offset: number } | null {
  return segments.find((s) => s.index === pos.index && s.offset > pos.offset) ?? null;
}

/**
 * Lists the segments of `pos`'s WAL index (one small listing: the index prefix) and throws
 * {@link BusyError} when another writer stored one past `pos`.
 */
export async function findForeignSegment(backend: Backend, url: string, pos: Pos): Promise<void> {
  const prefix = `${walDir(pos.generation)}/${formatWalSegmentName(pos.index, 0).slice(0, 9)}`;
  const segs: { index: number; offset: number }[] = [];
  for await (const obj of backend.list(prefix)) {
    const p = parseReplicaKey(obj.key);
    if (p?.kind === "wal" && p.generation === pos.generation) segs.push(p);
  }
  const f = foreignSegment(segs, pos);
  if (f) {
    throw new BusyError(
      `${url}: WAL segment ${
        formatWalSegmentName(f.index, f.offset)
      } of generation ${pos.generation} was not written by this replicator (it is at offset ${pos.offset}); another process writes this replica, stopping instead of interleaving`,
    );
  }
}

function describe(l: Lease): string {
  return `host ${l.host}, PID ${l.pid}, database ${l.db}, heartbeat ${l.heartbeat}`;
}

/** This process's claim on one replica. */
export class ReplicaLease {
  private readonly me: Lease;

  constructor(private readonly backend: Backend, private readonly url: string, db: string) {
    this.me = {
      host: hostname(),
      pid: process.pid,
      db,
      instance: randomBytes(8).toString("hex"),
      heartbeat: "",
    };
  }

  /** Claims the replica, or throws {@link BusyError} naming the live replicator that holds it. */
  async acquire(staleMs: number): Promise<void> {
    const v = judgeLeaseAtStart(await this.read(), this.me, new Date(), staleMs);
    if (v.kind === "refuse") {
      const free = new Date(Date.parse(v.holder.heartbeat) + staleMs).toISOString();
      throw new BusyError(
        `${this.url}: replica already written by another replicator (${describe(v.holder)}); stop it, ` +
          `or its claim lapses at ${free} if it is gone`,
      );
    }
    await this.write();
  }

  /**
   * Confirms we still hold the replica and refreshes the heartbeat; throws {@link BusyError} when
   * another replicator has claimed it since (then we must stop writing, not interleave).
   */
  async renew(): Promise<void> {
    const found = await this.read();
    if (found && found.instance !== this.me.instance) {
      throw new BusyError(
        `${this.url}: another replicator took over this replica (${
          describe(found)
        }); stopping instead of interleaving`,
      );
    }
    await this.write();
  }

  /**
   * Gives the claim up at a clean stop, when it is still ours: a replicator started on another host (a
   * recovered one) or for another database was refused for a minute, until the heartbeat went stale.
   */
  async release(): Promise<void> {
    const found = await this.read();
    if (found?.instance === this.me.instance) await this.backend.delete([LEASE_KEY]);
  }

  private async read(): Promise<Lease | null> {
    try {
      return parseLease(await new Response(await this.backend.get(LEASE_KEY)).text());
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  private async write(): Promise<void> {
    const body = JSON.stringify({ ...this.me, heartbeat: new Date().toISOString() }) + "\n";
    await this.backend.put(LEASE_KEY, new TextEncoder().encode(body));
  }
}
