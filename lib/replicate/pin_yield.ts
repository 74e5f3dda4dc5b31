/**
 * The hand-off that lets an application's own blocking checkpoint through instead of stalling it (#724):
 * WalSync's tick (wal_sync.ts) lets go of the pin for a checkpoint that holds the write lock, then gets
 * the pin back over the next ticks. While yielding, nothing of the live WAL may be read (WalSync's
 * invariant).
 */
import type { DbConnections } from "./db_conn.ts";
import type { ShadowState } from "./shadow_wal.ts";
import { mayRepinWithoutLock, type WalIndexMark } from "./sync_decision.ts";
import type { WalSyncResult } from "./wal_sync.ts";
import { readWalIndexHeader } from "../sqlite/wal_index.ts";

/** How long one tick, while yielding, tries to get its pin back; and for how long in all. */
const YIELD_SLICE_MS = 500;
const YIELD_LIMIT_MS = 30_000;
/**
 * While yielding, how long one lock attempt waits before the WAL-index is looked at again: a fast
 * application commits a WAL's worth within tens of milliseconds once its checkpoint is through.
 */
const YIELD_POLL_MS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the hand-off uses of the WalSync it belongs to. */
export interface YieldingSync {
  /** The shadow index being appended to. */
  state(): ShadowState | null;
  /** Copies what is new (nothing while yielding). */
  sync(): Promise<WalSyncResult>;
  /** Frames of the current WAL incarnation, counted by the shadow. */
  walFrames(): number;
  /** Caller holds the write lock and is unpinned: catches up, pins, commits a seq row, lets go of the lock. */
  sealAndRepin(shrink: boolean): Promise<WalSyncResult>;
}

/** Letting go of the pin for a checkpoint that waits on it, and getting it back. */
export class PinYield {
  /** When we let go of the pin for a lock holder (see {@link yieldLock}); null while pinned. */
  private yieldingSince: number | null = null;
  /** What the WAL-index showed when we let go of the pin (see {@link mayRepinWithoutLock}). */
  private letGo: WalIndexMark | null = null;

  constructor(
    private readonly conns: DbConnections,
    private readonly shmPath: string,
    private readonly walSync: YieldingSync,
  ) {}

  /** True from {@link yieldLock} until the pin is back (or the wait for it failed). */
  get yielding(): boolean {
    return this.yieldingSince !== null;
  }

  /**
   * A checkpoint held the write lock through our probe: most likely a FULL/RESTART/TRUNCATE one
   * waiting for our read transaction while it blocks every writer. Copy what is committed, let go of
   * the pin so it can finish, then pin again ({@link continueYield}). The wait for that is spread over
   * ticks, so what was copied is uploaded meanwhile and a stop is not held up: waiting inside one step
   * kept a commit made just before a long write transaction out of the replica for as long as that
   * transaction lasted, and a SIGTERM then exited 7 (found by review).
   */
  async yieldLock(): Promise<WalSyncResult> {
    const before = await this.walSync.sync();
    const st = this.walSync.state()!;
    this.letGo = readWalIndexHeader(this.shmPath) ??
      { mxFrame: this.walSync.walFrames(), salt1: st.header.salt1, salt2: st.header.salt2 };
    this.conns.unpin();
    this.yieldingSince = Date.now();
    const after = await this.continueYield();
    return {
      newGeneration: before.newGeneration || after.newGeneration,
      copied: before.copied + after.copied,
    };
  }

  /**
   * One bounded attempt at getting our pin back while yielding; 30 s of failed attempts is an error.
   * The pin comes back under the write lock, or without it as soon as the WAL-index allows
   * ({@link mayRepinWithoutLock}), which is looked at between short lock attempts: a fast application
   * restarts the WAL twice in much less time than the lock takes to get.
   */
  async continueYield(): Promise<WalSyncResult> {
    const deadline = Date.now() + YIELD_SLICE_MS;
    for (;;) {
      if (mayRepinWithoutLock(readWalIndexHeader(this.shmPath), this.letGo!)) {
        this.conns.pin();
        this.yieldingSince = null;
        return await this.walSync.sync();
      }
      if (this.conns.tryLock(YIELD_POLL_MS)) {
        this.yieldingSince = null;
        return await this.walSync.sealAndRepin(false);
      }
      if (Date.now() >= deadline) break;
      await sleep(5);
    }
    if (Date.now() - this.yieldingSince! < YIELD_LIMIT_MS) return { newGeneration: false, copied: 0 };
    this.yieldingSince = null;
    this.conns.pin();
    throw new Error("the write lock stayed busy for 30 s");
  }
}
