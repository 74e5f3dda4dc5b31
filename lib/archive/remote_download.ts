/**
 * Downloads of archives from a storage backend (`archives/<name>.tar.gz`, see remote_archives.ts): they
 * stream into a temporary file, which is renamed into place only when the bytes match the remote sidecar,
 * and the local sidecar is written beside it.
 */
import { createHash } from "node:crypto";
import { basename, dirname } from "node:path";
import { type Backend, objectUrl } from "../backend/backend.ts";
import { BadInputError, IoError, NotFoundError, VerifyError } from "../errors.ts";
import { type AtomicFile, createAtomicFile, refuseExisting, writeFileAtomic } from "../fsutil/atomic_file.ts";
import { EarlyWriteback } from "../fsutil/early_writeback.ts";
import { followFile } from "../fsutil/follow_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { sidecarLine } from "./file_sink.ts";
import { removeOnInterrupt } from "./interrupt_cleanup.ts";
import { removingSidecar } from "./sidecar_file.ts";
import { progressPhase } from "../progress.ts";

async function readRemoteSidecar(backend: Backend, key: string): Promise<string> {
  let text: string;
  try {
    text = await new Response(await backend.get(`${key}.sha256`)).text();
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new VerifyError(
        `${objectUrl(backend, `${key}.sha256`)}: sidecar not found (refusing an unverifiable download)`,
        { cause: err },
      );
    }
    throw err;
  }
  const m = /^([0-9a-fA-F]{64})\s/.exec(text);
  if (!m) throw new BadInputError(`${objectUrl(backend, `${key}.sha256`)}: not a sha256sum line`);
  return m[1].toLowerCase();
}

/** What a download wrote. */
export interface DownloadResult {
  path: string;
  sidecarPath: string;
  bytes: number;
  sha256: string;
}

/**
 * Streams object `key` into `outPath` (a temporary name until verified) and writes the local
 * sidecar. Throws VerifyError, leaving nothing behind, when the bytes do not match the remote sidecar.
 */
export async function downloadArchive(
  backend: Backend,
  key: string,
  outPath: string,
): Promise<DownloadResult> {
  const sidecarPath = `${outPath}.sha256`;
  // A sidecar alone is what a download killed between its two renames leaves (the sidecar goes in
  // first): it is replaced, and temporary files of dead downloads in that directory go.
  // Swept first: a download killed between linking its file into place and removing the temporary name
  // left both, and the refusal below would otherwise keep that temporary file for good.
  sweepStaleTemps(dirname(outPath));
  refuseExisting(outPath);
  const info = await backend.stat(key);
  if (!info) {
    throw new NotFoundError(
      `${objectUrl(backend, key)}: no such archive (see backup list --remote)`,
    );
  }
  const expected = await readRemoteSidecar(backend, key);
  // Registered before created, and the downloaded archive stays registered until its sidecar is there
  // too (interrupt_cleanup.ts): an interrupted download leaves neither.
  const forgets: (() => void)[] = [];
  const register = (p: string) => void forgets.push(removeOnInterrupt(p));
  const forget = () => forgets.splice(0).forEach((f) => f());
  const file = await createAtomicFile(outPath, 0o600, { beforeCreate: register, noReplace: true }).catch(
    (err) => {
      forget();
      throw err;
    },
  );
  const progress = progressPhase(`downloading ${objectUrl(backend, key)}`, info.size, "bytes");
  try {
    const { bytes, sha256 } = await receive(backend, key, file, (n) => progress.advance(n));
    if (sha256 !== expected) {
      throw new VerifyError(
        `${objectUrl(backend, key)}: checksum mismatch: sidecar says ${expected}, ` +
          `downloaded ${bytes} bytes hash to ${sha256} (nothing was written); ${mismatchCause(key)}`,
      );
    }
    // On disk before its sidecar appears, as in create (file_sink.ts): prune removes a sidecar alone
    // once it is a minute old.
    await file.handle.sync();
    // Made while downloading? Then neither its sidecar nor the file is replaced (the commit refuses too).
    refuseExisting(outPath);
    register(outPath);
    try {
      await writeFileAtomic(sidecarPath, sidecarLine(sha256, basename(outPath)), 0o644, {
        beforeCreate: register,
      });
      // Nothing was written since the fsync above: the commit need not repeat it.
      await file.commit({ synced: true });
    } catch (err) {
      throw removingSidecar(err, sidecarPath, outPath);
    }
    return { path: outPath, sidecarPath, bytes, sha256 };
  } catch (err) {
    throw await file.abortKeeping(err);
  } finally {
    progress.end();
    forget();
  }
}

/**
 * Object `key` written into `file`'s temporary name and hashed on the way. Natively where the backend
 * can ({@link Backend.getInto}), the file then read back behind the writer from the page cache for the
 * hash, the progress and the early writeback: `backup download` of 1 GiB from s3rver peaked at 48.1 MiB
 * RSS against 67.3 through a stream (with the JIT-less restart, backup_download.ts; stop 45's benchmark).
 * Elsewhere the object's stream goes through the hash into the file.
 */
async function receive(
  backend: Backend,
  key: string,
  file: AtomicFile,
  advance: (bytes: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  if (!backend.getInto) {
    let bytes = 0;
    await (await backend.get(key)).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          hash.update(chunk);
          bytes += chunk.length;
          advance(chunk.length);
          ctl.enqueue(chunk);
        },
      }),
    ).pipeTo(file.writable());
    return { bytes, sha256: hash.digest("hex") };
  }
  const writeback = new EarlyWriteback(file.tempPath);
  const writing = backend.getInto(key, file.tempPath);
  let bytes: number;
  try {
    bytes = await followFile(file.tempPath, writing, (piece) => {
      hash.update(piece);
      advance(piece.length);
      writeback.wrote(piece.length);
    });
    const size = await writing;
    if (size !== bytes) {
      throw new IoError(`${file.tempPath}: ${bytes} bytes read back of the ${size} downloaded into it`);
    }
  } catch (err) {
    await writeback.close().catch(() => {});
    throw err;
  }
  // What an early sync met is the file's error, as it is in the stream's close.
  await writeback.close();
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * The two causes of a stored archive that does not match its stored sidecar, which the download cannot
 * tell apart: `upload --replace` puts the new sidecar before the archive, so a kill between the two
 * leaves exactly this (docs/guide/sftp-remote.md), and its re-run repairs it; damage does the same.
 */
function mismatchCause(key: string): string {
  return `an interrupted 'backup upload --replace' of ${basename(key)} leaves its new sidecar beside ` +
    "the old archive, and running it again stores the new pair; otherwise the archive or its sidecar " +
    "was damaged (where stored or on the way here)";
}
