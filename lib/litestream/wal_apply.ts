/**
 * Writes the verified frames of a restore's WAL indexes straight into the database file, ending in the
 * bytes SQLite's checkpoint of those WALs would leave (docs/replica-format.md, "Applying the WAL"): each
 * committed frame's page at `(page number - 1) × page size`, a later frame of a page over an earlier
 * one, and the file cut to the page count of the last commit.
 *
 * Frames are applied as they arrive, before the commit that ends their transaction is seen, so no
 * transaction waits in memory for its commit however large it is. Only a frame after an index's last
 * commit must not be applied. Litestream and our replicator never upload one (they copy whole transactions), but a replica
 * may still hold one. When an index ended that way, {@link WalApply.exact} is false and the caller
 * restores again, passing each index's committed frame count ({@link WalApply.committedByIndex}) as
 * the limit of frames to apply.
 * Pages are gathered in a small cache and written in page order when it is full or the WAL ends: a page
 * that several transactions rewrite is written once per fill, as SQLite's checkpoint writes each page
 * once, and runs of consecutive pages go out in one `pwritev`. Memory: that cache (4 MiB).
 */
import { ftruncateSync, writeSync, writevSync } from "node:fs";
import { toVigoError } from "../errors.ts";
import { be32, WAL_FRAME_HEADER_SIZE } from "../sqlite/wal_format.ts";
import { WalFormatError, type WalSink } from "./wal_verifier.ts";

/** Bytes of pages held before they are written. */
const CACHE_BYTES = 4 << 20;

/**
 * Applies the frames of consecutive WAL indexes to the database open as `fd`. Per index:
 * {@link header}, {@link frame} for each verified frame, then {@link endIndex}; {@link finish} last.
 */
export class WalApply implements WalSink {
  readonly #fd: number;
  readonly #path: string;
  readonly #pageSize: number;
  readonly #limits?: readonly number[];
  readonly #committedByIndex: number[] = [];
  #index = -1;
  /** Frames of the current index: seen, written, and up to its last commit. */
  #frames = 0;
  #written = 0;
  #committed = 0;
  #dbPages = 0;
  #exact = true;
  readonly #slots: number;
  readonly #cache: Uint8Array;
  /** Page number → its slot in #cache. */
  readonly #slotOf = new Map<number, number>();

  /**
   * `pageSize` is the database's (from its header); `limits`, when given, is the number of frames to
   * apply of each index in turn (their committed frames, known from an earlier pass); `cacheBytes`
   * bounds the pages held before they are written (at least one page).
   */
  constructor(
    fd: number,
    path: string,
    pageSize: number,
    limits?: readonly number[],
    cacheBytes = CACHE_BYTES,
  ) {
    this.#fd = fd;
    this.#path = path;
    this.#pageSize = pageSize;
    this.#limits = limits;
    this.#slots = Math.max(1, Math.floor(cacheBytes / pageSize));
    this.#cache = new Uint8Array(this.#slots * pageSize);
  }

  /** Starts the next index with its (verified) 32-byte header. */
  header(h: Uint8Array): void {
    const pageSize = be32(h, 8);
    if (pageSize !== this.#pageSize) {
      throw new WalFormatError(`WAL page size ${pageSize} differs from the database's ${this.#pageSize}`);
    }
    this.#index++;
    this.#frames = this.#written = this.#committed = 0;
  }

  /** Takes one verified frame's page (the buffer is the caller's again once this returns). */
  frame(f: Uint8Array): void {
    this.#frames++;
    const limit = this.#limits?.[this.#index];
    if (limit === undefined || this.#frames <= limit) {
      const page = be32(f, 0);
      let slot = this.#slotOf.get(page);
      if (slot === undefined) {
        if (this.#slotOf.size === this.#slots) this.#flush();
        slot = this.#slotOf.size;
        this.#slotOf.set(page, slot);
      }
      const ps = this.#pageSize;
      this.#cache.set(f.subarray(WAL_FRAME_HEADER_SIZE, WAL_FRAME_HEADER_SIZE + ps), slot * ps);
      this.#written = this.#frames;
    }
    const commit = be32(f, 4);
    if (commit !== 0) {
      this.#committed = this.#frames;
      this.#dbPages = commit;
    }
  }

  /** Ends the current index; notes whether frames after its last commit were written. */
  endIndex(): void {
    if (this.#written > this.#committed) this.#exact = false;
    this.#committedByIndex.push(this.#committed);
  }

  /** False when a frame no commit covers was written: the database must be restored again. */
  get exact(): boolean {
    return this.#exact;
  }

  /** Frames up to the last commit of each index ended so far. */
  get committedByIndex(): readonly number[] {
    return this.#committedByIndex;
  }

  /** Frames up to the last commit, over every index ended so far. */
  get committedFrames(): number {
    return this.#committedByIndex.reduce((a, b) => a + b, 0);
  }

  /** Writes the pages still cached and cuts the database to the page count of the last commit, as a full checkpoint does. */
  finish(): void {
    this.#flush();
    if (this.#dbPages === 0) return;
    try {
      ftruncateSync(this.#fd, this.#dbPages * this.#pageSize);
    } catch (err) {
      throw toVigoError(err, this.#path);
    }
  }

  /** Writes the cached pages in page order, each run of consecutive pages with one call, and empties the cache. */
  #flush(): void {
    const ps = this.#pageSize;
    const pages = [...this.#slotOf.keys()].sort((a, b) => a - b);
    try {
      for (let i = 0; i < pages.length;) {
        let j = i + 1;
        while (j < pages.length && pages[j] === pages[j - 1] + 1) j++;
        const at = (pages[i] - 1) * ps;
        if (j - i === 1) {
          this.#writeAt(this.#slotOf.get(pages[i])! * ps, ps, at);
        } else {
          const run = pages.slice(i, j).map((p) => {
            const from = this.#slotOf.get(p)! * ps;
            return this.#cache.subarray(from, from + ps);
          });
          // A short write (none is expected on a regular file) goes on page by page.
          const done = writevSync(this.#fd, run, at);
          for (let k = 0; k < run.length; k++) {
            const have = Math.min(ps, Math.max(0, done - k * ps));
            if (have < ps) this.#writeAt(run[k].byteOffset + have, ps - have, at + k * ps + have);
          }
        }
        i = j;
      }
    } catch (err) {
      throw toVigoError(err, this.#path);
    }
    this.#slotOf.clear();
  }

  /** Writes `n` bytes of the cache from `from` at file offset `at`. */
  #writeAt(from: number, n: number, at: number): void {
    for (let off = 0; off < n;) off += writeSync(this.#fd, this.#cache, from + off, n - off, at + off);
  }
}
