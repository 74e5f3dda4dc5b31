/**
 * Joins the verified WAL indexes of a restore into one WAL file, so SQLite replays them all in one
 * checkpoint rather than opening, recovering and checkpointing a WAL per index. Each Litestream
 * index is a WAL of its own (new salts, a checksum chain seeded by its own header): the first index's
 * header and frames are kept as they are; the frames of every later index get the first header's
 * salts and the checksum chain continued from the frame before them, as SQLite would have written
 * them had it never restarted the WAL. An index's frames after its last commit are cut off when the
 * index ends: a later index's first commit would otherwise commit them too.
 * Memory: one output buffer; frames arrive one at a time from {@link WalVerifier}.
 */
import { ftruncateSync, writeSync } from "node:fs";
import { toVigoError } from "../errors.ts";
import {
  be32,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  WAL_MAGIC_BE,
  walChecksum,
} from "../sqlite/wal_format.ts";
import { WalFormatError, type WalSink } from "./wal_verifier.ts";

/** Bytes gathered per write of the joined WAL. */
const OUT_SIZE = 1 << 20;

function putBe32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/**
 * Writes one WAL to the open file `fd` from the headers and frames of consecutive WAL indexes.
 * Per index: {@link header}, {@link frame} for each frame (verified), then {@link endIndex}.
 */
export class WalJoin implements WalSink {
  readonly #fd: number;
  readonly #path: string;
  #out = new Uint8Array(OUT_SIZE);
  #fill = 0;
  /** File offset of the next byte (written or still in #out). */
  #pos = 0;
  #indexes = 0;
  #bigEndian = false;
  #pageSize = 0;
  #salt1 = 0;
  #salt2 = 0;
  #sum: [number, number] = [0, 0];
  #frames = 0;
  #committedPos = 0;
  #committedSum: [number, number] = [0, 0];
  #committedFrames = 0;

  constructor(fd: number, path: string) {
    this.#fd = fd;
    this.#path = path;
  }

  /** Bytes of the joined WAL so far. */
  get bytes(): number {
    return this.#pos;
  }

  /** Indexes started so far. */
  get indexes(): number {
    return this.#indexes;
  }

  /** Frames up to the last commit of the indexes ended so far: what SQLite will checkpoint. */
  get committedFrames(): number {
    return this.#committedFrames;
  }

  /** Starts the next index with its (verified) 32-byte header. */
  header(h: Uint8Array): void {
    const pageSize = be32(h, 8);
    if (this.#indexes++ === 0) {
      this.#bigEndian = be32(h, 0) === WAL_MAGIC_BE;
      this.#pageSize = pageSize;
      this.#salt1 = be32(h, 16);
      this.#salt2 = be32(h, 20);
      this.#sum = [be32(h, 24), be32(h, 28)];
      this.#committedSum = this.#sum;
      this.#put(h.subarray(0, WAL_HEADER_SIZE));
      this.#committedPos = this.#pos;
    } else if (pageSize !== this.#pageSize) {
      throw new WalFormatError(`WAL page size ${pageSize} differs from the first index's ${this.#pageSize}`);
    }
  }

  /** Appends one verified frame of the current index (reused by the caller after this returns). */
  frame(f: Uint8Array): void {
    if (this.#indexes === 1) {
      this.#sum = [be32(f, 16), be32(f, 20)];
      this.#put(f);
    } else {
      const at = this.#reserve(f.length);
      const out = this.#out.subarray(at, at + f.length);
      out.set(f);
      putBe32(out, 8, this.#salt1);
      putBe32(out, 12, this.#salt2);
      let s = walChecksum(this.#bigEndian, this.#sum[0], this.#sum[1], out, 0, 8);
      s = walChecksum(this.#bigEndian, s[0], s[1], out, WAL_FRAME_HEADER_SIZE, out.length);
      putBe32(out, 16, s[0]);
      putBe32(out, 20, s[1]);
      this.#sum = s;
    }
    this.#frames++;
    if (be32(f, 4) !== 0) {
      this.#committedPos = this.#pos;
      this.#committedSum = this.#sum;
      this.#committedFrames = this.#frames;
    }
  }

  /** Ends the current index: its frames after its last commit are dropped. */
  endIndex(): void {
    this.#flush();
    if (this.#pos === this.#committedPos) return;
    try {
      ftruncateSync(this.#fd, this.#committedPos);
    } catch (err) {
      throw toVigoError(err, this.#path);
    }
    this.#pos = this.#committedPos;
    this.#sum = this.#committedSum;
    this.#frames = this.#committedFrames;
  }

  #put(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#out.set(bytes, at);
  }

  /** Room for `n` more bytes at the returned offset of #out (flushing first when full). */
  #reserve(n: number): number {
    if (this.#fill + n > this.#out.length) {
      this.#flush();
      if (n > this.#out.length) this.#out = new Uint8Array(n);
    }
    const at = this.#fill;
    this.#fill += n;
    this.#pos += n;
    return at;
  }

  #flush(): void {
    // Positioned writes: after a cut (ftruncate) the descriptor's own offset is past the new end.
    const start = this.#pos - this.#fill;
    try {
      for (let off = 0; off < this.#fill;) {
        off += writeSync(this.#fd, this.#out, off, this.#fill - off, start + off);
      }
    } catch (err) {
      throw toVigoError(err, this.#path);
    }
    this.#fill = 0;
  }
}
