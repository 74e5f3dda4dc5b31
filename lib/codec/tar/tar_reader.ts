/**
 * Streaming tar reader: pulls entries one at a time from a byte stream, so an archive of any size is
 * read with a constant amount of memory. An entry's data must be consumed (or skipped) before the
 * next entry is requested.
 */
import { ByteQueue } from "../byte_queue.ts";
import { CodecError } from "../codec_error.ts";
import {
  BLOCK,
  decodeHeaderBlock,
  decodePaxRecords,
  entryTypeOf,
  isZeroBlock,
  padding,
  type TarHeader,
} from "./tar_format.ts";

/**
 * Largest metadata accepted before one entry: pax records and GNU long names together, however many
 * headers carry them. A cap per header alone let 40 stacked 1 MiB headers (a 6.5 MB archive) take 85 s
 * and 2 GB while their records piled up.
 */
const MAX_META = 1024 * 1024;

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

/** The largest uid or gid: 2^32 − 1 is chown(2)'s "leave unchanged", no owner's. */
const LARGEST_OWNER_ID = 0xffff_fffe;

/** Seconds a time may lie from 1970 either way: what a JavaScript Date, and so utimes here, can hold. */
const MAX_TIME = 8.64e12;

function paxId(value: string, key: string, path: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new CodecError(`bad ${key} for entry ${path}`);
  }
  return n;
}

// POSIX allows a fraction (GNU tar writes nanoseconds); headers carry whole seconds, rounded down so a
// time before 1970 stays before its second. The fraction is read as text: .999999999 as a double
// rounds up to the next second.
function paxTime(value: string, path: string): number {
  const m = /^(-?[0-9]+)(?:\.([0-9]+))?$/.exec(value);
  const whole = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(whole)) throw new CodecError(`bad mtime for entry ${path}`);
  return m![1].startsWith("-") && /[1-9]/.test(m![2] ?? "") ? whole - 1 : whole;
}

/** Pulls exact byte counts out of a chunked stream without copying more than needed. */
export class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #queue = new ByteQueue();
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Reads until at least `n` bytes are queued; false when the stream ends first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#queue.length < n) {
      if (this.#done) return false;
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#queue.push(value);
    }
    return true;
  }

  /** Exactly `n` bytes, or null at a clean end of stream; throws when the stream ends inside them. */
  async readExact(n: number): Promise<Uint8Array | null> {
    if (!(await this.#fill(n))) {
      if (this.#queue.length === 0) return null;
      throw new CodecError("archive is truncated");
    }
    return this.#queue.take(n);
  }

  /** Yields the next `n` bytes as they arrive (views into the stream's own chunks). */
  async *chunks(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill(1))) throw new CodecError("archive is truncated");
      const out = this.#queue.takeSome(left);
      left -= out.length;
      yield out;
    }
  }

  /**
   * Reads and discards everything that is left; the number of bytes discarded, and whether any of them
   * was not zero.
   */
  async drain(): Promise<{ bytes: number; nonZero: boolean }> {
    let nonZero = false;
    let bytes = 0;
    while (this.#queue.length > 0) {
      const chunk = this.#queue.takeSome(this.#queue.length);
      bytes += chunk.length;
      nonZero ||= chunk.some((b) => b !== 0);
    }
    while (!this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else {
        bytes += value.length;
        nonZero ||= value.some((b) => b !== 0);
      }
    }
    return { bytes, nonZero };
  }

  /** Stops reading and cancels the underlying stream. */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#reader.cancel().catch(() => {});
  }
}

/** One entry: its header and a one-shot iterator over its data. */
export interface TarEntry {
  header: TarHeader;
  /** The entry's data in chunks; must be fully consumed before the next entry is read. */
  body(): AsyncGenerator<Uint8Array>;
}

/** Reads tar entries (ustar + pax) one by one. */
export class TarReader {
  #bytes: ByteReader;
  #pendingSkip = 0;
  #ended = false;

  /**
   * `nameError` turns every error reading the stream (the tar's own, and the stream's: gzip, decryption,
   * the file) into the caller's, which knows the file's name; inside the entry bodies' own generator, so
   * that it costs nothing per chunk. Readers of the entries use it for their own errors about them too.
   */
  constructor(stream: ReadableStream<Uint8Array>, readonly nameError: (err: unknown) => unknown = (e) => e) {
    this.#bytes = new ByteReader(stream);
  }

  /** The next entry, or null after the end-of-archive marker. */
  async next(): Promise<TarEntry | null> {
    try {
      return await this.#next();
    } catch (err) {
      throw this.nameError(err);
    }
  }

  async #next(): Promise<TarEntry | null> {
    if (this.#ended) return null;
    if (this.#pendingSkip > 0) {
      for await (const _ of this.#bytes.chunks(this.#pendingSkip)) { /* skip unread data */ }
      this.#pendingSkip = 0;
    }
    const pax: Record<string, string> = {};
    let metaBytes = 0;
    for (;;) {
      const block = await this.#bytes.readExact(BLOCK);
      if (block === null) throw new CodecError("archive is truncated (no end-of-archive marker)");
      if (isZeroBlock(block)) {
        const second = await this.#bytes.readExact(BLOCK);
        if (second === null || !isZeroBlock(second)) {
          throw new CodecError("archive has a malformed end-of-archive marker");
        }
        this.#ended = true;
        return null;
      }
      const raw = decodeHeaderBlock(block);
      // Metadata for the next entry: pax records, or GNU tar's long name (L) / long link (K).
      if ("xgLK".includes(raw.typeflag)) {
        metaBytes += raw.size;
        if (metaBytes > MAX_META) {
          throw new CodecError("archive has an implausibly large tar extended header");
        }
        const data = await this.#bytes.readExact(raw.size + padding(raw.size));
        if (data === null) throw new CodecError("archive is truncated");
        const body = data.subarray(0, raw.size);
        if (raw.typeflag === "x") Object.assign(pax, decodePaxRecords(body));
        if (raw.typeflag === "L") pax.path = cString(body);
        if (raw.typeflag === "K") pax.linkpath = cString(body);
        continue;
      }
      const path = pax.path ?? raw.path;
      const size = pax.size !== undefined ? Number(pax.size) : raw.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new CodecError(`bad size for entry ${path}`);
      const header: TarHeader = {
        path,
        type: entryTypeOf(raw.typeflag, path),
        mode: raw.mode,
        size,
        mtime: pax.mtime !== undefined ? paxTime(pax.mtime, path) : raw.mtime,
        uid: pax.uid !== undefined ? paxId(pax.uid, "uid", path) : raw.uid,
        gid: pax.gid !== undefined ? paxId(pax.gid, "gid", path) : raw.gid,
        linkname: pax.linkpath ?? (raw.linkname || undefined),
      };
      // Out of range from a pax record or a GNU base-256 field alike: restore could not set them.
      const ranges: [string, number, number][] = [
        ["mtime", Math.abs(header.mtime), MAX_TIME],
        ["uid", header.uid, LARGEST_OWNER_ID],
        ["gid", header.gid, LARGEST_OWNER_ID],
      ];
      for (const [key, value, max] of ranges) {
        if (!(value <= max)) throw new CodecError(`bad ${key} for entry ${path}`);
      }
      const total = size + padding(size);
      this.#pendingSkip = total;
      return { header, body: () => this.#body(size, total) };
    }
  }

  async *#body(size: number, total: number): AsyncGenerator<Uint8Array> {
    this.#pendingSkip = 0;
    try {
      yield* this.#bytes.chunks(size);
      const pad = total - size;
      if (pad > 0 && (await this.#bytes.readExact(pad)) === null) {
        throw new CodecError("archive is truncated");
      }
    } catch (err) {
      throw this.nameError(err);
    }
  }

  /**
   * Consumes what follows the end-of-archive marker, which must be zero padding, and returns its size:
   * data there (a second archive appended, whole gzip members) was read past, and verify passed it.
   */
  async drain(): Promise<number> {
    try {
      const { bytes, nonZero } = await this.#bytes.drain();
      if (nonZero) throw new CodecError("archive has data after its end-of-archive marker");
      return bytes;
    } catch (err) {
      throw this.nameError(err);
    }
  }

  /** Stops reading early (e.g. after the manifest). */
  cancel(): Promise<void> {
    return this.#bytes.cancel();
  }
}
