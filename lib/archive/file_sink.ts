/**
 * The local-file sink for archive bytes: written under a temporary name in the destination directory,
 * hashed as it goes, fsynced; on close the `.sha256` sidecar (in `sha256sum` format, so `sha256sum -c`
 * checks it) is written the same atomic way and renamed into place first, then the archive. An
 * aborted stream leaves nothing behind.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync } from "node:fs";
import { basename, dirname } from "node:path";
import { ExistsError, toVigoError } from "../errors.ts";
import { type AtomicFile, createAtomicFile, refuseExisting, writeFileAtomic } from "../fsutil/atomic_file.ts";
import { removeOnInterrupt } from "./interrupt_cleanup.ts";
import { removingSidecar } from "./sidecar_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";

/** Archive files hold secrets: only the owner may read them. */
const ARCHIVE_MODE = 0o600;

/** What a finished file sink wrote. */
export interface FileSinkResult {
  path: string;
  sidecarPath: string;
  bytes: number;
  sha256: string;
}

/** A writable archive file plus the promise of its result once the stream is closed. */
export interface FileSink {
  writable: WritableStream<Uint8Array>;
  /** Resolves after close (file and sidecar committed); rejects if the stream was aborted. */
  done: Promise<FileSinkResult>;
}

/** Line of a `sha256sum`-format sidecar for `path`. */
export function sidecarLine(sha256: string, path: string): string {
  return `${sha256}  ${basename(path)}\n`;
}

/** Opens `path` for writing an archive. Refuses to replace an existing file or sidecar. */
export async function openFileSink(path: string): Promise<FileSink> {
  const sidecarPath = `${path}.sha256`;
  // Half-written archives of dead creates would otherwise fill the directory for good; swept before the
  // refusal below, which a create killed between linking its archive into place and removing the
  // temporary name meets.
  sweepStaleTemps(dirname(path));
  refuseExisting(path);
  // A sidecar alone is what a create killed between its last two renames leaves: it is replaced.
  if (existsSync(sidecarPath) && lstatSync(sidecarPath).isDirectory()) {
    throw new ExistsError(`${sidecarPath}: already exists (refusing to overwrite)`);
  }
  // Every path is registered before it is created (see interrupt_cleanup.ts), and the committed archive
  // stays registered until its sidecar is committed too: an interrupted create leaves neither.
  const forgets: (() => void)[] = [];
  const register = (p: string) => void forgets.push(removeOnInterrupt(p));
  const forget = () => forgets.splice(0).forEach((f) => f());
  const file: AtomicFile = await createAtomicFile(path, ARCHIVE_MODE, {
    beforeCreate: register,
    noReplace: true,
  })
    .catch((err) => {
      forget();
      throw err;
    });
  const inner = file.writable().getWriter();
  const hash = createHash("sha256");
  let bytes = 0;
  let resolve!: (r: FileSinkResult) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<FileSinkResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {});
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      hash.update(chunk);
      bytes += chunk.length;
      try {
        await inner.write(chunk);
      } catch (err) {
        // A failed write errors this stream, and an errored stream's abort() never reaches the sink:
        // the temporary file goes now (disk full must not leave a half archive), named by the output.
        const e = await file.abortKeeping(toVigoError(err, path));
        forget();
        reject(e);
        throw e;
      }
    },
    async close() {
      let sidecarCommitted = false;
      try {
        // Closed first: an error its early writeback met is the archive's failure.
        await inner.close();
        const sha256 = hash.digest("hex");
        // The sidecar goes into place first: a kill between the two renames then leaves a sidecar
        // without its archive (replaced by the next create of that name), never an archive that
        // looks finished but fails verify for want of its sidecar.
        // The archive's bytes reach the disk before its sidecar appears: a sidecar alone older than a
        // minute is what `prune` removes as a dead create's leftover, and on a slow disk the fsync of a
        // big archive can take longer than that.
        await file.handle.sync();
        // Made while this archive was written? Then neither its sidecar nor it is replaced (the commit
        // refuses too).
        refuseExisting(path);
        register(path);
        // Its final name too: a signal after its rename and before the archive's left it alone (found by
        // review), which prune then takes for a dead create's.
        register(sidecarPath);
        await writeFileAtomic(sidecarPath, sidecarLine(sha256, path), 0o644, { beforeCreate: register });
        sidecarCommitted = true;
        // Nothing was written since the fsync above: the commit need not repeat it.
        await file.commit({ synced: true });
        forget();
        resolve({ path, sidecarPath, bytes, sha256 });
      } catch (err) {
        let e = await file.abortKeeping(err);
        if (sidecarCommitted) e = removingSidecar(e, sidecarPath, path);
        forget();
        reject(e);
        throw e;
      }
    },
    async abort(reason) {
      // The aborting caller throws its own failure; `done` keeps it too, saying so if the file is left.
      reject(await file.abortKeeping(reason));
      forget();
    },
  });
  return { writable, done };
}
