/**
 * The local-file sink for archive bytes: written under a temporary name in the destination directory,
 * hashed as it goes, fsynced and renamed into place on close, then the `.sha256` sidecar (in
 * `sha256sum` format, so `sha256sum -c` checks it) is written the same atomic way. An aborted stream
 * leaves nothing behind.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { ExistsError, toVigoError } from "../errors.ts";
import { type AtomicFile, createAtomicFile, writeFileAtomic } from "../fsutil/atomic_file.ts";
import { removeOnInterrupt } from "./interrupt_cleanup.ts";

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
  for (const p of [path, sidecarPath]) {
    if (existsSync(p)) throw new ExistsError(`${p}: already exists (refusing to overwrite)`);
  }
  // Every path is registered before it is created (see interrupt_cleanup.ts), and the committed archive
  // stays registered until its sidecar is committed too: an interrupted create leaves neither.
  const forgets: (() => void)[] = [];
  const register = (p: string) => void forgets.push(removeOnInterrupt(p));
  const forget = () => forgets.splice(0).forEach((f) => f());
  const file: AtomicFile = await createAtomicFile(path, ARCHIVE_MODE, { beforeCreate: register })
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
      // write(2) errors carry no path: name the archive being written ("no space left on device").
      await inner.write(chunk).catch((err) => {
        throw toVigoError(err, path);
      });
    },
    async close() {
      try {
        const sha256 = hash.digest("hex");
        register(path);
        await file.commit();
        await writeFileAtomic(sidecarPath, sidecarLine(sha256, path), 0o644, { beforeCreate: register });
        forget();
        resolve({ path, sidecarPath, bytes, sha256 });
      } catch (err) {
        forget();
        reject(err);
        throw err;
      }
    },
    async abort(reason) {
      await file.abort();
      forget();
      reject(reason);
    },
  });
  return { writable, done };
}
