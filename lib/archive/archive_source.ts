/**
 * Opens an archive file for reading: file → [decrypt] → gunzip → tar. The first bytes decide the
 * format: gzip magic means a plain archive; otherwise the encryption module (loaded only then) is
 * asked whether it recognises its header. The raw file bytes can be hashed on the way (for the
 * `.sha256` sidecar) in the same single read.
 */
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { BadInputError, CryptoError, toVigoError } from "../errors.ts";
import { gunzip } from "../codec/gzip/gunzip_members.ts";
import { zlibAsyncRunsOffThread } from "../runtime.ts";
import { TarReader } from "../codec/tar/tar_reader.ts";
import { type ProgressPhase, progressPhase } from "../progress.ts";
import type { KdfCap } from "../crypto/kdf_cap.ts";
import { detectArchiveKind, readHead } from "./archive_kind.ts";
import { namingArchive } from "./archive_errors.ts";

/**
 * Read size for a whole-archive read: each read is a trip to the runtime's thread pool, so fewer, bigger
 * ones (`backup verify` of 1 GiB, encrypted: 6.2 → 6.0 s at 256 KiB against 32 KiB).
 */
const READ_CHUNK = 256 * 1024;
/**
 * Whole-archive reads queued ahead of the consumer, so the next read is under way while this one is
 * inflated (`backup verify` of 256 MiB: 1.23–1.43 → 1.14–1.33 s at 4 against none). Inspect reads none
 * ahead: it stops after the manifest.
 */
const READ_AHEAD = 4;
/**
 * First read size when only the start is wanted: inspect reads little more than the manifest's members.
 * Each read doubles, up to 1 MiB: the compressed manifest of 10,000 entries (384 KiB) takes 3 reads
 * instead of 6 (`backup inspect`: 53.6 → 52.4 ms, medians of 60 interleaved runs).
 */
const HEAD_CHUNK = 64 * 1024;
const HEAD_MAX = 1024 * 1024;

/**
 * Yields the password of an encrypted archive. Called only once the archive turns out to be
 * encrypted, so a plain archive never asks; the caller decides where a password comes from (the CLI
 * reads --password-file, the environment or the terminal), the library never prompts.
 */
export type PasswordSource = () => Promise<string>;

/** How to open an archive. */
export interface OpenArchiveOptions {
  /** The password of an encrypted archive; without it an encrypted archive is a CryptoError. */
  password?: PasswordSource;
  /** Hash the raw file bytes (for the sidecar check). */
  hashRaw?: boolean;
  /** Only the start of the archive will be read (inspect): read in small pieces. */
  headOnly?: boolean;
  /** Largest Argon2id cost accepted from an encrypted header (default: DEFAULT_KDF_CAP). */
  kdfCap?: KdfCap;
}

/** An archive opened for reading. */
export interface OpenedArchive {
  /** Its errors (those of every entry's body too) name the archive. */
  tar: TarReader;
  encrypted: boolean;
  /** Hex SHA-256 of the raw bytes read so far (all of them once the tar stream is drained). */
  rawSha256(): string;
  /** Raw bytes read so far. */
  rawBytes(): number;
  close(): Promise<void>;
}

/** Opens `path` as an archive, decrypting when its header says it is encrypted. */
export async function openArchive(path: string, opts: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const kind = await detectArchiveKind(await readHead(path));
  if (kind === "unknown") {
    throw new BadInputError(`${path}: not a vigocli archive (neither gzip nor encrypted)`);
  }
  const fh = await open(path, "r").catch((err) => {
    throw toVigoError(err, path);
  });
  // The password first: the stream below starts reading (and drawing its progress line) at once.
  let password: string | undefined;
  if (kind === "encrypted") {
    if (!opts.password) {
      await fh.close().catch(() => {});
      throw new CryptoError(`${path}: the archive is encrypted and no password was given`);
    }
    password = await opts.password().catch(async (err) => {
      await fh.close().catch(() => {});
      // "no password: …" says nothing of which archive wanted one; a password file's error names that file.
      if (err instanceof CryptoError && !err.message.startsWith(path)) {
        err.message = `${path}: ${err.message}`;
      }
      throw err;
    });
  }
  const hash: Hash | undefined = opts.hashRaw ? createHash("sha256") : undefined;
  let raw = 0;
  let digest: string | undefined;
  let chunkSize = opts.headOnly ? HEAD_CHUNK : READ_CHUNK;
  // A whole read is the long part of restore and verify: its progress is the file's bytes. Started at
  // the first read, after any password prompt (above), so that the line is not drawn over the prompt.
  let progress: ProgressPhase | undefined;
  let stream: ReadableStream<Uint8Array> = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!opts.headOnly && !progress) {
        progress = progressPhase(`reading ${path}`, (await fh.stat().catch(() => undefined))?.size, "bytes");
      }
      const buf = new Uint8Array(chunkSize);
      const { bytesRead } = await fh.read(buf, 0, chunkSize, null);
      if (opts.headOnly && chunkSize < HEAD_MAX) chunkSize *= 2;
      if (bytesRead === 0) {
        progress?.end();
        controller.close();
        return;
      }
      const chunk = bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
      hash?.update(chunk);
      raw += bytesRead;
      progress?.advance(bytesRead);
      controller.enqueue(chunk);
    },
    async cancel() {
      progress?.end();
      await fh.close().catch(() => {});
    },
  }, { highWaterMark: opts.headOnly ? 0 : READ_AHEAD });
  if (password !== undefined) {
    const { decryptingStream } = await import("../crypto/envelope.ts");
    stream = stream.pipeThrough(decryptingStream(password, { kdfCap: opts.kdfCap, source: path }));
  }
  // No threads for inspect, which inflates only the manifest's members (on this thread); for the rest
  // the inflate workers for the members that say their length, and for a stream of members that do not,
  // a worker only where zlib would inflate on this thread.
  const onWorker = !opts.headOnly && !zlibAsyncRunsOffThread();
  // Every error reading it (gzip, tar, decryption, the file) names the archive, for a library caller as
  // for the CLI: the codecs know no file names.
  const tar = new TarReader(
    gunzip(stream, { onWorker, workers: opts.headOnly ? 0 : undefined }),
    (err) => namingArchive(err, path),
  );
  return {
    tar,
    encrypted: kind === "encrypted",
    rawSha256: () => (digest ??= hash?.digest("hex") ?? ""),
    rawBytes: () => raw,
    async close() {
      progress?.end();
      await tar.cancel();
      await fh.close().catch(() => {});
    },
  };
}
