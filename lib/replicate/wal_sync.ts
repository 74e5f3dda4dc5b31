/**
 * Keeps the shadow WAL in step with the live WAL: gathers the facts, lets {@link decideSync} judge,
 * and carries out the verdict (copy, new index, new generation). Also runs our checkpoints, and its tick
 * starts the hand-off that lets an application's own blocking checkpoint through ({@link PinYield}).
 *
 * Invariant: `sync()` runs only while we are pinned (read transaction held, so the WAL cannot be
 * restarted) or hold the write lock (so nothing can be appended or restarted).
 */
import { newGenerationName } from "../litestream/paths.ts";
import type { DbConnections } from "./db_conn.ts";
import type { EventSink } from "./event_log.ts";
import type { ShadowDir, ShadowState } from "./shadow_wal.ts";
import {
  committedLimit,
  decideSync,
  emptiedWalHoldsNothingNew,
  nextSeal,
  type Seal,
  stopMayEnd,
} from "./sync_decision.ts";
import { PinYield } from "./pin_yield.ts";
import { copyCommittedFrames, walkFrames } from "./wal_copier.ts";
import { anchorStillInWal, readWalInfo, type WalInfo } from "./wal_file_facts.ts";
import { readWalIndexHeader, type WalIndexHeader } from "../sqlite/wal_index.ts";
import { frameSize, sameWal, WAL_HEADER_SIZE } from "../sqlite/wal_format.ts";

/** How long one lock attempt may block the (synchronous) SQLite call. */
const LOCK_SLICE_MS = 100;
/** How long a tick waits for the write lock before concluding someone is waiting on our pin. */
export const PROBE_MS = 200;

/** What one sync did. */
export interface WalSyncResult {
  /** True when a new generation was started (it needs a snapshot before any WAL upload). */
  newGeneration: boolean;
  /** Bytes appended to the shadow WAL. */
  copied: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shadow-WAL side of one database. */
export class WalSync {
  /** The shadow index being appended to. */
  state: ShadowState | null = null;
  private seal: Seal | null = null;
  /** The last WAL-index header read that described the shadow's WAL: what readers saw of it. */
  private published: WalIndexHeader | null = null;
  private forced: string | null = null;
  /** Letting go of the pin for a checkpoint that holds the write lock, and getting it back. */
  private readonly handOff: PinYield;
  readonly walPath: string;
  private readonly shmPath: string;

  constructor(
    readonly dbPath: string,
    readonly shadow: ShadowDir,
    readonly conns: DbConnections,
    private readonly log: EventSink,
  ) {
    this.walPath = `${dbPath}-wal`;
    this.shmPath = `${dbPath}-shm`;
    this.handOff = new PinYield(conns, this.shmPath, {
      state: () => this.state,
      sync: () => this.sync(),
      walFrames: () => this.walFrames(),
      sealAndRepin: (shrink) => this.sealAndRepin(shrink),
    });
  }

  /** Reloads the current generation's last shadow index after a restart (trimming a torn tail). */
  async load(): Promise<void> {
    const gen = await this.shadow.readGeneration();
    if (!gen) return;
    const idx = await this.shadow.indices(gen);
    if (idx.length > 0) this.state = await this.shadow.loadIndex(gen, idx[idx.length - 1]);
  }

  /** Makes the next sync start a new generation for `reason` (replaced database, replica mismatch). */
  forceNewGeneration(reason: string): void {
    this.forced = reason;
  }

  /** Takes the write lock, waiting up to `waitMs` in short slices so signals stay responsive. */
  async lock(waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.conns.tryLock(Math.min(LOCK_SLICE_MS, Math.max(0, deadline - Date.now())))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(5);
    }
  }

  /** First pin: catch up under the write lock, then hold the read transaction. */
  async begin(): Promise<WalSyncResult> {
    const deadline = Date.now() + 30_000;
    const lock = async () => {
      if (!(await this.lock(deadline - Date.now()))) {
        throw new Error("cannot take the write lock to start replication");
      }
    };
    await lock();
    // A first start commits Litestream's tables before it can pin them, then takes the lock again.
    if (this.conns.createTables()) await lock();
    return await this.sealAndRepin(false);
  }

  /** One regular step: probe for a waiting checkpointer, copy new frames. */
  async tick(): Promise<WalSyncResult> {
    if (this.handOff.yielding) return await this.handOff.continueYield();
    if (!this.conns.tryLock(PROBE_MS)) {
      // Only a blocking checkpoint waits for our read while it holds the write lock; a writer does
      // not, and letting go of our pin for one only opens a window for restarts we do not see.
      if (this.conns.checkpointRunning()) return await this.handOff.yieldLock();
      return await this.sync();
    }
    this.conns.unlock();
    return await this.sync();
  }

  /**
   * True while we have let go of our pin for someone holding the write lock and have not got the lock
   * back: nothing of the live WAL may be read then (see the invariant above).
   */
  get yielding(): boolean {
    return this.handOff.yielding;
  }

  /**
   * Whether a stop may end now ({@link stopMayEnd}): no commit counted so far is missing from the
   * shadow, or the next step would only copy commits made after this one.
   */
  stopMayEnd(): boolean {
    const st = this.state;
    if (!st) return !this.yielding;
    return stopMayEnd(this.yielding, this.seal, st, readWalIndexHeader(this.shmPath));
  }

  /** Copies what is new, deciding first whether we still follow the same WAL. */
  async sync(): Promise<WalSyncResult> {
    if (this.handOff.yielding) return { newGeneration: false, copied: 0 };
    let wal = readWalInfo(this.walPath);
    if (!wal.header) {
      // A WAL that a TRUNCATE checkpoint emptied has no header until its next commit, and nothing to
      // copy or judge before it when the shadow holds every commit counted: wait for that commit.
      // Writing it ourselves meant waiting for the write lock while pinned, which the application's
      // next TRUNCATE holds while it waits for our read (both stood still for 5 s), or, yielding,
      // committing between the lock and the pin, an unpinned moment in which a fast application
      // restarted the WAL twice (a new generation). A commit the TRUNCATE took with it is judged now.
      if (
        this.state !== null && this.forced === null &&
        emptiedWalHoldsNothingNew(this.seal, this.state, readWalIndexHeader(this.shmPath))
      ) {
        return { newGeneration: false, copied: 0 };
      }
      const created = await this.createWal();
      if (!created) return { newGeneration: false, copied: 0 };
      wal = created;
    }
    if (this.forced !== null) {
      await this.startGeneration(this.forced, wal);
      this.forced = null;
      return { newGeneration: true, copied: this.state!.size };
    }
    const st = this.state;
    const restarted = st !== null && wal.header !== null && !sameWal(wal.header, st.header);
    // Judging a restart needs a still WAL: hold the write lock while we look (and copy).
    const tookLock = restarted && !this.conns.locked && await this.lock(PROBE_MS * 5);
    try {
      if (tookLock) wal = readWalInfo(this.walPath);
      // Read before the scan, which stops at its mxFrame: frames up to it are final while we are
      // pinned or hold the lock, so the count and the scan agree even while writers append.
      const walIndex = readWalIndexHeader(this.shmPath);
      const newWal = restarted && wal.header
        ? await walkFrames(
          this.walPath,
          wal.header,
          WAL_HEADER_SIZE,
          [wal.header.checksum1, wal.header.checksum2],
          undefined,
          committedLimit(walIndex, wal.header) ?? Infinity,
        )
        : null;
      const d = decideSync({
        generation: st?.generation ?? null,
        dbReplaced: this.conns.replaced(),
        walHeader: wal.header,
        walSize: wal.size,
        shadow: st,
        anchorIntact: st ? this.anchorIntact(st) : false,
        seal: this.seal,
        walIndex,
        newWal: newWal && wal.header
          ? {
            committedFrames: (newWal.committedEnd - WAL_HEADER_SIZE) / frameSize(wal.header.pageSize),
            commits: newWal.commits,
          }
          : null,
      });
      if (d.kind === "new-generation") {
        await this.startGeneration(d.reason, wal);
        return { newGeneration: true, copied: this.state!.size };
      }
      let copied = 0;
      if (d.kind === "copy") return { newGeneration: false, copied: await this.copyAndSeal() };
      if (d.copyOldTail) {
        // The WAL-index now describes the new WAL, so the old tail's committed end is either proven
        // by the transaction count (copy exactly that many) or the last mxFrame we saw of it; past
        // that, commits made while we were not looking and a killed writer's unpublished frames
        // cannot be told apart.
        const tail = d.tailCommits;
        let missing: boolean;
        if (tail === undefined) {
          copied += await this.copyAndSeal(true);
          missing =
            (await walkFrames(this.walPath, st!.header, st!.size, st!.checksum)).committedEnd > st!.size;
        } else {
          const end = await this.copy(Infinity, tail);
          copied += end.copied;
          missing = end.commits !== tail;
        }
        const reason = missing
          ? "wal restarted after commits the replicator never saw published"
          : !this.anchorIntact(st!)
          ? "wal overwritten while copying its end"
          : null;
        if (reason) {
          await this.startGeneration(reason, wal);
          return { newGeneration: true, copied: this.state!.size };
        }
      }
      this.state = await this.shadow.initIndex(st!.generation, st!.index + 1, wal.headerBytes!);
      this.log("INFO", "wal restarted", {
        generation: st!.generation,
        index: this.state.index,
        proof: !d.copyOldTail
          ? "transaction count"
          : d.tailCommits === undefined
          ? "old tail up to its last published frame"
          : "transaction count, old tail copied",
      });
      copied += await this.copyAndSeal();
      return { newGeneration: false, copied };
    } finally {
      if (tookLock) this.conns.unlock();
    }
  }

  /**
   * Our checkpoint: PASSIVE (never waits for anyone), run while we hold the write lock and have
   * copied the very last frame; then, if it copied every frame, a one-row commit from a snapshot
   * taken after it, which makes SQLite restart the WAL (if an application writer gets in first, it
   * restarts it instead — the seal proves that lossless too). `shrink` also truncates the WAL file
   * at that commit. Returns false when readers kept the checkpoint from completing, null when the
   * write lock or the checkpoint lock was busy.
   */
  async checkpoint(shrink: boolean): Promise<boolean | null> {
    if (this.handOff.yielding) return null;
    await this.sync();
    // The lock is asked for while still pinned. Unpinned and unlocked for as long as the probe waits, a
    // fast application could restart the WAL, fill it, checkpoint it and restart it again before we
    // look (test: checkpoint_window_test). Holding the write lock, nothing commits while we are unpinned.
    if (!(await this.lock(PROBE_MS))) return null;
    this.conns.unpin();
    let ck;
    try {
      await this.sync();
      ck = this.conns.checkpointPassive();
      // Pin before the lock is let go. After a complete checkpoint the pin takes read mark 0: the next
      // commit (ours or the application's) may still restart the WAL, but no checkpoint can copy the
      // new WAL back while we read the database file, so it cannot restart a second time before we look.
      this.conns.pin();
      this.conns.unlock();
      // Busy: another connection holds the checkpoint lock, usually the application's autocheckpoint
      // running right now. No reader blocks anything, so the caller tries again soon instead of backing
      // off as it does for a reader (test: checkpoint_busy_test).
      if (!ck.ran) return null;
      if (ck.log !== ck.checkpointed) return false;
      if (!(await this.lock(PROBE_MS))) return null;
      await this.sync();
      this.conns.commitSeq(shrink);
    } finally {
      this.conns.unlock();
      this.conns.pin();
    }
    this.log("INFO", "checkpoint", { mode: shrink ? "passive+truncate" : "passive", frames: ck.log });
    return true;
  }

  /**
   * Frames of the current WAL incarnation (what a checkpoint would copy and a restart would free),
   * counted by our shadow — not the file size, which stays large after a restart.
   */
  walFrames(): number {
    const st = this.state;
    return st ? (st.size - WAL_HEADER_SIZE) / frameSize(st.header.pageSize) : 0;
  }

  /** Releases the database (or parks the connections when the file was replaced under us). */
  close(): void {
    if (this.conns.replaced()) this.conns.abandon();
    else this.conns.close();
  }

  /**
   * Caller holds the write lock and is unpinned. Catches up completely, pins, commits a seq row. Pinning
   * first leaves no moment between the commit, which lets go of the lock, and the pin.
   */
  private async sealAndRepin(shrink: boolean): Promise<WalSyncResult> {
    try {
      const res = await this.sync();
      this.conns.pin();
      this.conns.commitSeq(shrink);
      return res;
    } finally {
      this.conns.unlock();
      this.conns.pin();
    }
  }

  private async startGeneration(reason: string, wal: WalInfo): Promise<void> {
    if (!wal.headerBytes) {
      throw new Error(`cannot start a generation (${reason}): the WAL has no valid header`);
    }
    const generation = newGenerationName();
    this.state = await this.shadow.initIndex(generation, 0, wal.headerBytes);
    await this.copyAndSeal();
    await this.shadow.writeGeneration(generation);
    this.log("INFO", "new generation", { generation, reason });
  }

  /**
   * Copies the frames SQLite has published (up to the WAL-index's mxFrame, read first: frames up to
   * it are final while we are pinned or hold the write lock), then records a seal when the WAL-index
   * shows the shadow holds exactly the committed frames (read before and after the copy: a commit
   * landing meanwhile only costs this seal, and a copy of nothing keeps the last one: {@link nextSeal}).
   * `oldTail`: the WAL already restarted, so the limit is the last mxFrame seen of the shadow's WAL.
   */
  private async copyAndSeal(oldTail = false): Promise<number> {
    const st = this.state!;
    const before = readWalIndexHeader(this.shmPath);
    if (committedLimit(before, st.header) !== null) this.published = before;
    const limit = committedLimit(oldTail ? this.published : before, st.header);
    // No consistent WAL-index for this WAL (torn header, or a writer between its reset and its first
    // frame): copy nothing now; the next tick sees it settled.
    const n = limit === null ? 0 : (await this.copy(limit)).copied;
    const frames = (st.size - WAL_HEADER_SIZE) / frameSize(st.header.pageSize);
    const exact = (h: WalIndexHeader | null) =>
      h !== null && h.mxFrame === frames && h.salt1 === st.header.salt1 && h.salt2 === st.header.salt2;
    let h = exact(before) ? before : null;
    if (!h) {
      const after = readWalIndexHeader(this.shmPath);
      if (exact(after)) h = after;
    }
    this.seal = nextSeal(this.seal, st, h);
    return n;
  }

  private async copy(limit: number, maxCommits = Infinity): Promise<{ copied: number; commits: number }> {
    const st = this.state!;
    const end = await copyCommittedFrames(
      this.walPath,
      this.shadow.walPath(st.generation, st.index),
      st.header,
      st.size,
      st.checksum,
      limit,
      maxCommits,
    );
    const n = end.committedEnd - st.size;
    st.size = end.committedEnd;
    st.checksum = end.checksum;
    return { copied: n, commits: end.commits };
  }

  /**
   * Gives the WAL a valid header (a fresh or cleanly closed database has none) by committing; null when
   * someone held the write lock through a probe. Pinned at read mark 0 on an emptied WAL, that can be the
   * application's next TRUNCATE, which commits and then waits for our read while holding the lock: waiting
   * longer for it froze every writer until our wait ran out (5 s). Its commit gives the WAL a header, and
   * the next tick's probe lets its checkpoint through.
   */
  private async createWal(): Promise<WalInfo | null> {
    const wasLocked = this.conns.locked;
    if (!wasLocked && !(await this.lock(PROBE_MS))) return null;
    this.conns.commitSeq(false);
    if (wasLocked && !(await this.lock(30_000))) {
      throw new Error("cannot retake the write lock after creating the WAL");
    }
    return readWalInfo(this.walPath);
  }

  /** The frame header just before the shadow's end is still the same bytes in the real WAL. */
  private anchorIntact(st: ShadowState): boolean {
    return anchorStillInWal(this.walPath, this.shadow.walPath(st.generation, st.index), st);
  }
}
