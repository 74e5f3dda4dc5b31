/**
 * The replicator's hold on its replica over time: claim it on first contact, renew the claim and look for
 * another writer's segments at most every few seconds (README "Reliability"). The lease itself, and what
 * counts as a foreign segment, are in replica_lease.ts; this file only decides when to check.
 */
import type { Backend } from "../backend/backend.ts";
import type { Pos } from "../litestream/replica_client.ts";
import { findForeignSegment, ReplicaLease } from "./replica_lease.ts";

/** A lease not refreshed for this long belongs to a replicator that is gone. */
const LEASE_STALE_MS = 60_000;
/** Longest time between lease checks (heartbeats); shorter with a short sync interval. */
const LEASE_CHECK_MS = 10_000;

/** One replicator's claim on one replica. */
export class ReplicaClaim {
  private lease: ReplicaLease | null = null;
  private checkedAt = 0;
  private readonly everyMs: number;

  constructor(private readonly url: string, private readonly dbPath: string, syncIntervalMs: number) {
    this.everyMs = Math.min(LEASE_CHECK_MS, 10 * syncIntervalMs);
  }

  /**
   * Claims or renews when a check is due, then checks that no other writer stored a segment past `pos`
   * (our upload position, once known). Throws BusyError when another replicator holds the replica.
   */
  async check(backend: Backend, pos: Pos | undefined): Promise<void> {
    if (this.lease && Date.now() - this.checkedAt < this.everyMs) return;
    if (!this.lease) {
      const lease = new ReplicaLease(backend, this.url, this.dbPath);
      await lease.acquire(LEASE_STALE_MS);
      this.lease = lease;
    } else await this.lease.renew();
    if (pos) await findForeignSegment(backend, this.url, pos);
    this.checkedAt = Date.now();
  }

  /** Gives the claim up (a clean stop), if this process ever took it. */
  async release(): Promise<void> {
    await this.lease?.release();
  }
}
