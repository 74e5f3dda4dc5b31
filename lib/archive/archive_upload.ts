/**
 * `backup upload`'s engine: a local archive and its `.sha256` sidecar to `archives/<name>` on a backend,
 * for an archive made while the backend was out of reach. The file goes as a body of known size
 * (S3/GCS: one streamed PUT up to their cutoff), hashed on every read and refused before it commits
 * when it does not match its sidecar; the sidecar follows only once the archive is stored, as
 * `create --upload` stores them, so a listing never shows a sidecar without its archive. `--replace` of a
 * stored pair goes the other way round (see {@link replacePair}).
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { type Backend, objectUrl, type SizedBody, type TemporaryObject } from "../backend/backend.ts";
import { BadInputError, ExistsError, NotFoundError, toVigoError, VerifyError, VigoError } from "../errors.ts";
import { fileStream } from "../fsutil/file_stream.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { type ProgressPhase, progressPhase } from "../progress.ts";
import { notice } from "../verbose.ts";
import { sleep } from "../backend/retry.ts";
import { detectArchiveKind } from "./archive_kind.ts";
import { readSidecar } from "./sidecar_file.ts";
import { sidecarLine } from "./file_sink.ts";
import { SETTLE_MS, type StoppedOutcome } from "./interrupt_cleanup.ts";
import {
  ARCHIVES_PREFIX,
  checkArchiveName,
  putSidecarOrTakeBack,
  type UploadResult,
} from "./remote_archives.ts";

/** How {@link uploadArchive} treats an archive of that name already on the backend. */
export interface UploadArchiveOptions {
  /** Replace it (and its sidecar) instead of refusing with ExistsError. */
  replace?: boolean;
  /**
   * Stops the upload (SIGINT, SIGTERM; see runInterruptible): what it had stored or started is removed,
   * a replaced pair's old sidecar put back, and it rejects with the signal's reason, or with an error
   * naming what could not be removed. An upload that had completed returns as usual.
   */
  signal?: AbortSignal;
}

/**
 * Uploads the archive at `path` as `archives/<its file name>`, then its sidecar. Throws VerifyError,
 * storing nothing, when the sidecar is missing or does not match the bytes read; ExistsError when the
 * name is taken on the backend: its sidecar is there, or other bytes are at the commit (unless `replace`,
 * which checks the file against its sidecar before anything stored is touched, and leaves the old pair
 * or the new one whatever fails). Otherwise a failure after the archive was stored removes it.
 */
export async function uploadArchive(
  backend: Backend,
  path: string,
  opts: UploadArchiveOptions = {},
): Promise<UploadResult> {
  const name = basename(path);
  checkArchiveName(name);
  requireRegularFile(path, "archive");
  const expected = readSidecar(path);
  if (expected === null) {
    throw new VerifyError(`${path}.sha256: sidecar is missing (refusing an unverifiable upload)`);
  }
  await refuseNonArchive(path);
  const key = `${ARCHIVES_PREFIX}${name}`;
  const sidecarKey = `${key}.sha256`;
  const size = (await stat(path).catch((err) => {
    throw toVigoError(err, path);
  })).size;
  const signal = opts.signal;
  const check = new SidecarCheck(path, size, expected, signal);
  const sidecar = new TextEncoder().encode(sidecarLine(expected, name));
  const result = { url: backend.url, key, sidecarKey, bytes: size, sha256: expected };
  let replace = opts.replace ?? false;
  if (replace) {
    // A file that does not match its own sidecar is refused before anything stored is touched.
    try {
      await check.wrap(fileStream(path), () => progressPhase(`checking ${path}`, size, "bytes"))
        .pipeTo(new WritableStream());
    } finally {
      check.endProgress();
    }
    const old = await backend.stat(key) !== null ? await readStored(backend, sidecarKey) : null;
    if (old !== null) {
      await replacePair(backend, path, key, sidecarKey, { size, expected, check, sidecar, old, signal });
      return result;
    }
    // No stored pair to keep: at most an archive that downloads refuse, or a sidecar alone (a killed
    // prune's), which a prune takes for a leftover. Stored in the plain order below, which never leaves
    // a sidecar without its archive: put first, the new sidecar was pruned while the archive was sent.
  } else {
    const stored = await backend.stat(key) !== null;
    // A sidecar alone is a leftover (an upload stores its archive first; a killed prune leaves one):
    // the put below replaces it, as a local sidecar alone is replaced.
    if (stored && await sidecarArrives(backend, sidecarKey, signal)) {
      throw new ExistsError(
        `${objectUrl(backend, key)}: already exists (refusing to overwrite; --replace replaces it)`,
      );
    }
    // An archive whose sidecar does not follow is what an upload killed between its two puts leaves.
    // Downloads refuse it as unverifiable, so it holds nothing worth keeping; refusing it (exit 10) would
    // leave the name stuck without a sidecar for good, so the re-run replaces it.
    replace = stored;
  }
  // noReplace as create --upload puts: where the backend decides it with the commit (file, sftp),
  // an archive of this name stored meanwhile is not replaced either.
  signal?.throwIfAborted();
  await putArchive(backend, path, key, size, expected, check, !replace, signal);
  await putSidecarOrTakeBack(backend, key, sidecarKey, sidecar, signal);
  return result;
}

/** How long a stored archive's sidecar is waited for before the archive counts as a killed upload's. */
const SIDECAR_GRACE_MS = 10_000;

/**
 * Whether the sidecar at `sidecarKey` is stored, or comes within {@link SIDECAR_GRACE_MS}: an upload of
 * the same name running now stores it right after its archive, and taking that archive for a killed
 * upload's replaced it while both reported success (two uploads at once, 10 in 200 rounds).
 */
async function sidecarArrives(backend: Backend, sidecarKey: string, signal?: AbortSignal): Promise<boolean> {
  if (await backend.stat(sidecarKey) !== null) return true;
  notice(
    `vigocli: ${objectUrl(backend, sidecarKey)}: not stored beside its archive; waiting for it up to ` +
      `${SIDECAR_GRACE_MS / 1000} s (an upload of that name may be storing it)`,
  );
  for (let waited = 0; waited < SIDECAR_GRACE_MS; waited += 500) {
    await sleep(500, signal);
    if (await backend.stat(sidecarKey) !== null) return true;
  }
  return false;
}

/** What {@link replacePair} stores, and the stored sidecar it replaces. */
interface NewPair {
  size: number;
  expected: string;
  check: SidecarCheck;
  /** The new sidecar's bytes. */
  sidecar: Uint8Array;
  /** The stored sidecar's bytes, put back when the archive does not arrive. */
  old: Uint8Array;
  signal?: AbortSignal;
}

/**
 * Replaces a stored pair so that a failure at any step leaves the old pair or the new one. No backend
 * renames two objects as one, so the new sidecar goes first (the old pair stays whole if it is
 * refused) and the archive's put, atomic on every backend, completes the new pair; when that put
 * fails, the old sidecar's bytes, held here, are put back. Meanwhile the stored archive and sidecar
 * disagree, which a download refuses (exit 8): no sidecar ever vouches for bytes it was not made for.
 */
async function replacePair(
  backend: Backend,
  path: string,
  key: string,
  sidecarKey: string,
  pair: NewPair,
): Promise<void> {
  const { size, expected, check, signal } = pair;
  signal?.throwIfAborted();
  await backend.put(sidecarKey, pair.sidecar);
  try {
    await putArchive(backend, path, key, size, expected, check, false, signal);
  } catch (err) {
    // A put whose answer was lost after it committed has completed the new pair after all (a put
    // stopped by the signal stopped before its commit).
    if (!check.mismatch && !signal?.aborted && await holds(backend, key, size, expected)) return;
    try {
      await backend.put(sidecarKey, pair.old);
    } catch (again) {
      const first = toVigoError(err, path);
      throw new VigoError(
        `${first.message}; putting the old sidecar back failed too (${errorText(again)}): ` +
          `${objectUrl(backend, sidecarKey)} does not match the archive stored; ` +
          "backup upload --replace again stores the new pair",
        first.exitCode,
        first.kind,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Puts the archive at `key`, hashed against its sidecar as it is read. A retry after a commit whose
 * answer was lost (sftp: renamed into place, then the connection dropped) that finds the name taken by
 * this very upload's bytes is not a refusal.
 */
async function putArchive(
  backend: Backend,
  path: string,
  key: string,
  size: number,
  expected: string,
  check: SidecarCheck,
  noReplace: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const body: SizedBody = {
    size,
    open: (pass, readBytes) =>
      check.wrap(
        fileStream(path, readBytes),
        () =>
          pass === "hash"
            ? progressPhase(`hashing ${path}`, size, "bytes")
            : progressPhase(`uploading ${objectUrl(backend, key)}`, size, "bytes"),
      ),
  };
  const url = objectUrl(backend, key);
  try {
    await backend.put(key, body, { noReplace, signal, onTemporary: (t) => writing.set(url, t) });
  } catch (err) {
    // Refused before it committed: the mismatch is the news, not how the backend saw the stream end.
    if (check.mismatch) throw check.mismatch;
    if (signal?.aborted) throw err;
    if (!(err instanceof ExistsError && await holds(backend, key, size, expected))) throw err;
  } finally {
    writing.delete(url);
    check.endProgress();
  }
}

/**
 * The temporary object of each archive's put running in this process, by the archive's URL: what an
 * upload whose cleanup did not finish names as left ({@link interruptedUploadLine}).
 */
const writing = new Map<string, TemporaryObject>();

/** The bytes stored at `key` (a sidecar: a line), or null when there is none. */
async function readStored(backend: Backend, key: string): Promise<Uint8Array | null> {
  if (await backend.stat(key) === null) return null;
  try {
    return new Uint8Array(await new Response(await backend.get(key)).arrayBuffer());
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether `key` holds `size` bytes hashing to `sha256`; false when that cannot be read either. */
async function holds(backend: Backend, key: string, size: number, sha256: string): Promise<boolean> {
  try {
    if ((await backend.stat(key))?.size !== size) return false;
    const hash = createHash("sha256");
    for await (const chunk of await backend.get(key)) hash.update(chunk);
    return hash.digest("hex") === sha256;
  } catch {
    return false;
  }
}

/** Refuses a file that is neither gzip nor encrypted: `list --remote` and `prune` would not see it. */
async function refuseNonArchive(path: string): Promise<void> {
  const fh = await open(path, "r").catch((err) => {
    throw toVigoError(err, path);
  });
  try {
    const head = new Uint8Array(64);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (await detectArchiveKind(head.subarray(0, bytesRead)) === "unknown") {
      throw new BadInputError(`${path}: not a vigocli archive (neither gzip nor encrypted)`);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Hashes every read of the file (the backend may read it more than once: S3 hashes, then sends) and
 * errors a read whose bytes differ from the sidecar's. The check runs when the last byte arrives and
 * that byte is held back until it passed: a backend that commits once it has the announced length,
 * without waiting for the stream's end, then never has the whole body of a mismatched file. The
 * signal errors every read at once, whether or not its reader is reading.
 */
class SidecarCheck {
  mismatch: VigoError | undefined;
  private progress: ProgressPhase | undefined;

  constructor(
    private readonly path: string,
    private readonly size: number,
    private readonly expected: string,
    private readonly signal?: AbortSignal,
  ) {}

  /** `source` checked as it is read; `phase` opens its progress once the previous read's is over. */
  wrap(
    source: ReadableStream<Uint8Array>,
    phase: () => ProgressPhase,
  ): ReadableStream<Uint8Array> {
    // One bar per read: a retry or a second pass starts again from zero. Opened after the last one
    // ended: the reporter draws one phase at a time and ignores a phase opened while another is open
    // (the send's bar was lost so, behind the hash pass's).
    this.progress?.end();
    const progress = phase();
    this.progress = progress;
    const hash = createHash("sha256");
    let bytes = 0;
    const verify = (sha256: string) => {
      if (sha256 === this.expected && bytes === this.size) return;
      this.mismatch ??= new VerifyError(
        `${this.path}: checksum mismatch: sidecar says ${this.expected}, ` +
          `the ${bytes} bytes read hash to ${sha256} (nothing was uploaded)`,
      );
      throw this.mismatch;
    };
    // Read by hand, not piped: a pipe would error its output only after its pending write, which
    // waits for as long as the backend has stopped reading.
    const reader = source.getReader();
    const signal = this.signal;
    let over = false;
    let onAbort = () => {};
    const stop = (ctl: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
      over = true;
      signal?.removeEventListener("abort", onAbort);
      ctl.error(err);
      reader.cancel(err).catch(() => {});
    };
    return new ReadableStream<Uint8Array>({
      start: (ctl) => {
        if (signal?.aborted) return stop(ctl, signal.reason);
        onAbort = () => over || stop(ctl, signal!.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
      },
      pull: async (ctl) => {
        const { done, value } = await reader.read();
        if (over) return;
        try {
          if (done) {
            // Shrunk since its size was taken (a complete read was checked as its last byte came).
            if (bytes < this.size) verify(hash.digest("hex"));
            over = true;
            signal?.removeEventListener("abort", onAbort);
            return ctl.close();
          }
          if (bytes + value.length > this.size) {
            this.mismatch ??= new BadInputError(
              `${this.path}: grew while it was read (more than its ${this.size} bytes; nothing was uploaded)`,
            );
            throw this.mismatch;
          }
          hash.update(value);
          bytes += value.length;
          if (bytes === this.size) verify(hash.digest("hex"));
          progress.advance(value.length);
          ctl.enqueue(value);
        } catch (err) {
          stop(ctl, err);
        }
      },
      cancel: (reason) => {
        over = true;
        signal?.removeEventListener("abort", onAbort);
        return reader.cancel(reason);
      },
    });
  }

  endProgress(): void {
    this.progress?.end();
  }
}

/**
 * The one line an interrupted `backup upload` prints (runInterruptible's report): what was stopped, and
 * what of it is left on the backend.
 */
export function interruptedUploadLine(
  archive: string,
  url: string,
  replace: boolean,
  outcome: StoppedOutcome,
  signal: string,
): string {
  const what = `upload of ${archive} to ${url} interrupted (${signal})`;
  switch (outcome.kind) {
    case "finished":
      return `${what} as it completed: the archive and its sidecar are stored`;
    case "undone":
      return replace
        ? `${what}; nothing of it was left there: the stored archive and sidecar are as they were`
        : `${what}; nothing of it was left there`;
    case "left":
      return `${what}; ${outcome.error.message}`;
    case "unsettled": {
      const temporary = writing.get(url);
      const left = temporary
        ? `its temporary file ${temporary.url} may be left there, for ${temporary.sweep}`
        : "a temporary object there (a temporary file, which a prune --remote removes, on sftp:// once it " +
          "is a week old; a multipart upload, which a bucket lifecycle rule removes) may be left";
      return `${what}; its cleanup did not finish within ${SETTLE_MS / 1000} s: ${left}` +
        (replace ? "; so may the new sidecar beside the old archive" : "");
    }
  }
}
