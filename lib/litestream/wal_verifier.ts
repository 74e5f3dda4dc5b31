/**
 * Checks a SQLite WAL file as it streams past (https://www.sqlite.org/fileformat.html#the_write_ahead_log):
 * the 32-byte header and its checksum, then each frame's salts and the cumulative checksum chain.
 * SQLite itself stops silently at the first bad frame and opens an OLDER database; restoring a
 * replica must instead notice a missing or damaged segment, so we check every frame ourselves and
 * count the frames up to the last commit, which the checkpoint must then report back.
 */
import {
  be32,
  validPageSize,
  WAL_FORMAT_VERSION,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  WAL_MAGIC_BE,
  WAL_MAGIC_LE,
  walChecksum,
} from "../sqlite/wal_format.ts";

/** Thrown for a WAL that is not valid; the caller adds which object it came from. */
export class WalFormatError extends Error {}

/** What a verified WAL contained. */
export interface WalSummary {
  pageSize: number;
  /** Bytes consumed (header + whole frames). */
  bytes: number;
  /** Frames seen. */
  frames: number;
  /** Frames up to and including the last commit frame (what SQLite will use). */
  committedFrames: number;
  /** Database size in pages after the last commit, 0 when there was no commit. */
  dbPages: number;
}

/** Receives the parts of a WAL once verified; each buffer is reused after the call returns. */
export interface WalSink {
  header(h: Uint8Array): void;
  frame(f: Uint8Array): void;
}

/** Streaming WAL checker: feed bytes with {@link WalVerifier.update}, then {@link WalVerifier.finish}. */
export class WalVerifier {
  readonly #sink?: WalSink;
  #header = new Uint8Array(WAL_HEADER_SIZE);
  #frame = new Uint8Array(0);
  #fill = 0;
  #bigEndian = false;
  #salt1 = 0;
  #salt2 = 0;
  #sum: [number, number] = [0, 0];
  #pageSize = 0;
  #bytes = 0;
  #frames = 0;
  #committed = 0;
  #dbPages = 0;

  /** `sink`, when given, gets the header and then every frame as each passes its checks. */
  constructor(sink?: WalSink) {
    this.#sink = sink;
  }

  /** Bytes consumed so far: the WAL offset the next byte sits at. */
  get offset(): number {
    return this.#bytes;
  }

  /** True when the bytes so far end on a frame (or header) boundary. */
  get aligned(): boolean {
    return this.#fill === 0;
  }

  /** Checks the next bytes of the WAL. Throws {@link WalFormatError} at the first problem. */
  update(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#pageSize === 0) {
        const take = Math.min(WAL_HEADER_SIZE - this.#fill, chunk.length - i);
        this.#header.set(chunk.subarray(i, i + take), this.#fill);
        this.#fill += take;
        i += take;
        if (this.#fill === WAL_HEADER_SIZE) this.#readHeader();
        continue;
      }
      const take = Math.min(this.#frame.length - this.#fill, chunk.length - i);
      this.#frame.set(chunk.subarray(i, i + take), this.#fill);
      this.#fill += take;
      i += take;
      if (this.#fill === this.#frame.length) this.#readFrame();
    }
  }

  #readHeader(): void {
    const h = this.#header;
    const magic = be32(h, 0);
    if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) {
      throw new WalFormatError("bad WAL magic number (not a WAL)");
    }
    this.#bigEndian = magic === WAL_MAGIC_BE;
    const version = be32(h, 4);
    if (version !== WAL_FORMAT_VERSION) throw new WalFormatError(`unsupported WAL format version ${version}`);
    const ps = be32(h, 8);
    if (!validPageSize(ps)) {
      throw new WalFormatError(`invalid WAL page size ${ps}`);
    }
    const sum = walChecksum(this.#bigEndian, 0, 0, h, 0, 24);
    if (sum[0] !== be32(h, 24) || sum[1] !== be32(h, 28)) {
      throw new WalFormatError("WAL header checksum mismatch");
    }
    this.#pageSize = ps;
    this.#salt1 = be32(h, 16);
    this.#salt2 = be32(h, 20);
    this.#sum = sum;
    this.#sink?.header(h);
    this.#frame = new Uint8Array(WAL_FRAME_HEADER_SIZE + ps);
    this.#fill = 0;
    this.#bytes = WAL_HEADER_SIZE;
  }

  #readFrame(): void {
    const f = this.#frame;
    const at = this.#bytes;
    if (be32(f, 8) !== this.#salt1 || be32(f, 12) !== this.#salt2) {
      throw new WalFormatError(
        `frame at WAL offset ${at} has salts of another WAL (stale or misplaced data)`,
      );
    }
    let sum = walChecksum(this.#bigEndian, this.#sum[0], this.#sum[1], f, 0, 8);
    sum = walChecksum(this.#bigEndian, sum[0], sum[1], f, WAL_FRAME_HEADER_SIZE, f.length);
    if (sum[0] !== be32(f, 16) || sum[1] !== be32(f, 20)) {
      throw new WalFormatError(
        `frame at WAL offset ${at} fails the checksum chain (missing or damaged data before it)`,
      );
    }
    if (be32(f, 0) === 0) throw new WalFormatError(`frame at WAL offset ${at} has page number 0`);
    this.#sum = sum;
    this.#frames++;
    const commit = be32(f, 4);
    if (commit !== 0) {
      this.#committed = this.#frames;
      this.#dbPages = commit;
    }
    this.#sink?.frame(f);
    this.#fill = 0;
    this.#bytes += f.length;
  }

  /** Ends the WAL; throws when it stops inside the header or a frame. */
  finish(): WalSummary {
    if (this.#pageSize === 0) {
      throw new WalFormatError(`WAL ends inside its header (${this.#fill} of ${WAL_HEADER_SIZE} bytes)`);
    }
    if (this.#fill !== 0) {
      throw new WalFormatError(
        `WAL ends inside the frame at offset ${this.#bytes} (${this.#fill} bytes of it)`,
      );
    }
    return {
      pageSize: this.#pageSize,
      bytes: this.#bytes,
      frames: this.#frames,
      committedFrames: this.#committed,
      dbPages: this.#dbPages,
    };
  }
}
