/**
 * Archives on a storage backend (file, S3, GCS, SFTP), under the `archives/` prefix of the backend
 * root: `archives/<name>.tar.gz` and then `archives/<name>.tar.gz.sha256` (sha256sum format, as
 * locally). Uploads stream (the backend's atomic put: multipart or temp name + rename), so an archive
 * is never listed half-written, and its sidecar only appears after it. Downloads: remote_download.ts.
 */
import { createHash } from "node:crypto";
import { type Backend, LeftBehindError, objectUrl } from "../backend/backend.ts";
import { ConfigError, ExistsError, UsageError } from "../errors.ts";
import { detectArchiveKind } from "./archive_kind.ts";
import { timeFromArchiveName } from "./archive_names.ts";
import { planRetention, type RetentionPolicy } from "./archive_retention.ts";
import { sidecarLine } from "./file_sink.ts";
import { redactUrl } from "../backends.ts";
import { concatBytes } from "../bytes.ts";

/** Key prefix of archives on a backend. */
export const ARCHIVES_PREFIX = "archives/";

/** One remote archive, as `backup list --remote` shows it. */
export interface RemoteArchive {
  name: string;
  /** Object key (`archives/<name>`). */
  key: string;
  /** ISO 8601 UTC: from the name when it is a default name, else the object's mtime. */
  time: string;
  size: number;
  /** Null when the head could not be read. */
  encrypted: boolean | null;
  /** The `.sha256` sidecar object exists. */
  sidecar: boolean;
}

/** What an upload stored. */
export interface UploadResult {
  url: string;
  key: string;
  sidecarKey: string;
  bytes: number;
  sha256: string;
}

/**
 * Splits an archive object URL into its backend root and the object key (its last component),
 * percent-decoded when it decodes: `list --remote` prints names as they are, so `50%.tar.gz` is a name.
 */
export function splitObjectUrl(url: string): { root: string; key: string } {
  const cut = url.replace(/\/+$/, "").lastIndexOf("/");
  const root = url.slice(0, cut);
  const last = url.slice(cut + 1);
  let key = last;
  try {
    key = decodeURIComponent(last);
  } catch {
    // Not percent-encoding (a lone "%"): the name as written.
  }
  if (cut < 0 || key === "" || /:\/?\/?$/.test(root)) {
    throw new ConfigError(
      `${redactUrl(url)}: expected the URL of an archive object, e.g. sftp://host/path/archives/NAME.tar.gz`,
    );
  }
  return { root, key };
}

/** Refuses names that are not a plain archive file name (no directories, no temp names). */
export function checkArchiveName(name: string): void {
  if (!/^[^/\\]+\.tar\.gz$/.test(name) || name.startsWith(".")) {
    throw new UsageError(
      `${JSON.stringify(name)}: not an archive name (expected NAME.tar.gz, no directories)`,
    );
  }
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Stores the sidecar of the archive just stored at `key` (create --upload, backup upload). When that
 * fails, or `signal` stopped the upload first, the archive is taken back instead: one without its
 * sidecar would make every re-run exit 10 (the name exists). Best effort: the sidecar's failure (or the
 * signal's reason) is what the caller sees, unless a stopped upload's archive could not be removed,
 * which a LeftBehindError names.
 */
export async function putSidecarOrTakeBack(
  backend: Backend,
  key: string,
  sidecarKey: string,
  sidecar: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  try {
    signal?.throwIfAborted();
    await backend.put(sidecarKey, sidecar);
  } catch (err) {
    await backend.delete([key]).catch((left) => {
      if (!signal?.aborted) return;
      throw new LeftBehindError(
        `${objectUrl(backend, key)}: stored without its sidecar, could not be removed (${
          left instanceof Error ? left.message : left
        })`,
        { cause: err },
      );
    });
    throw err;
  }
}

/**
 * A sink that uploads what is written to `archives/<name>` and, once the archive object is complete,
 * its sidecar. Refuses to replace an archive that exists (checked when opened). `done` settles after the
 * sidecar is stored.
 */
export async function openRemoteSink(
  backend: Backend,
  name: string,
  signal?: AbortSignal,
): Promise<{
  writable: WritableStream<Uint8Array>;
  done: Promise<UploadResult>;
  /** Deletes what a completed upload stored (archive and sidecar): for a create whose other half failed. */
  discard: () => Promise<void>;
}> {
  checkArchiveName(name);
  const key = `${ARCHIVES_PREFIX}${name}`;
  const sidecarKey = `${key}.sha256`;
  // The archive only: a sidecar alone is a leftover (a killed prune's), which the sidecar's put replaces.
  if (await backend.stat(key)) {
    throw new ExistsError(`${objectUrl(backend, key)}: already exists (refusing to overwrite)`);
  }
  // A signal that came while the checks above waited on the backend (a session opening) finds no
  // listener below: it stops the create here, before the put, which would otherwise run in full.
  signal?.throwIfAborted();
  const hash = createHash("sha256");
  let bytes = 0;
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  // Checked again where the backend can, atomically with the commit: another create of this name may
  // have stored it meanwhile (the check above only narrows that window on S3 and GCS).
  const putting = backend.put(key, pipe.readable, { noReplace: true, signal });
  // A put that fails before it reads the pipe (a read-only or unwritable destination directory) would
  // leave the first write waiting for room forever: cancelling the unread side fails that write. A put
  // that failed while reading has already cancelled it (the readable is then locked, and this is moot).
  putting.catch((err) => pipe.readable.cancel(err).catch(() => {}));
  const inner = pipe.writable.getWriter();
  // Stopped (SIGINT, SIGTERM): the put's body fails at once, so it removes what it had started.
  signal?.addEventListener("abort", () => void inner.abort(signal.reason).catch(() => {}), { once: true });
  const { promise: done, resolve, reject } = Promise.withResolvers<UploadResult>();
  done.catch(() => {});
  // When the upload fails, the pipe only says "cancelled" (often with no reason): report the upload's error.
  const uploadError = (err: unknown) => putting.then(() => err, (putErr) => putErr);
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      hash.update(chunk);
      bytes += chunk.length;
      await inner.write(chunk).catch(async (err) => {
        throw await uploadError(err);
      });
    },
    async close() {
      try {
        await inner.close().catch(async (err) => {
          throw await uploadError(err);
        });
        await putting;
        const sha256 = hash.digest("hex");
        const sidecar = new TextEncoder().encode(sidecarLine(sha256, name));
        await putSidecarOrTakeBack(backend, key, sidecarKey, sidecar, signal);
        resolve({ url: backend.url, key, sidecarKey, bytes, sha256 });
      } catch (err) {
        reject(err);
        throw err;
      }
    },
    async abort(reason) {
      await inner.abort(reason).catch(() => {});
      await putting.catch(() => {});
      reject(reason);
    },
  });
  return { writable, done, discard: () => backend.delete([key, sidecarKey]) };
}

async function readHeadOf(backend: Backend, key: string): Promise<Uint8Array | null> {
  try {
    const reader = (await backend.get(key)).getReader();
    // The first 64 bytes (as readHead does locally): a stream's first chunk may be shorter.
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < 64) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      have += value.length;
    }
    await reader.cancel().catch(() => {});
    return concatBytes(parts);
  } catch {
    return null;
  }
}

/** The archives under `archives/`, newest first. */
export async function listRemoteArchives(backend: Backend): Promise<RemoteArchive[]> {
  const objects = [];
  for await (const o of backend.list(ARCHIVES_PREFIX)) objects.push(o);
  const keys = new Set(objects.map((o) => o.key));
  const out: RemoteArchive[] = [];
  for (const o of objects) {
    const name = o.key.slice(ARCHIVES_PREFIX.length);
    if (name.includes("/") || !name.endsWith(".tar.gz") || name.startsWith(".")) continue;
    const head = await readHeadOf(backend, o.key);
    const kind = head ? await detectArchiveKind(head) : null;
    // Neither gzip nor encrypted: someone else's file with an archive's name. Listing it made prune
    // count it among the archives to keep and delete a real one in its place (as local listing, skipped).
    if (kind === "unknown") continue;
    out.push({
      name,
      key: o.key,
      time: isoSeconds(timeFromArchiveName(name) ?? o.mtime),
      size: o.size,
      encrypted: kind === null ? null : kind === "encrypted",
      sidecar: keys.has(`${o.key}.sha256`),
    });
  }
  return out.sort((a, b) => b.time.localeCompare(a.time) || b.name.localeCompare(a.name));
}

/** One line of a prune: what happens to an archive and why. */
export interface PruneLine {
  archive: RemoteArchive;
  action: "keep" | "delete";
  reason: string;
  /** Kept because it is dated in the future, not counted among the newest (future_dated.ts). */
  datedInFuture: boolean;
}

/** What {@link pruneRemoteArchives} does besides the plan. */
export interface PruneRemoteOptions {
  /**
   * Called with the keys of the sidecars whose archive is gone that the prune deleted (with `dryRun`:
   * would delete), so that a caller can report them as the leftovers they are.
   */
  onOrphanSidecars?: (keys: string[]) => void;
}

/**
 * Applies (or with `dryRun` only plans) retention to the remote archives; sidecars go with them, and so
 * do sidecars whose archive is gone.
 */
export async function pruneRemoteArchives(
  backend: Backend,
  policy: RetentionPolicy,
  dryRun: boolean,
  opts: PruneRemoteOptions = {},
): Promise<PruneLine[]> {
  const archives = await listRemoteArchives(backend);
  const plan = planRetention(archives.map((a) => ({ name: a.name, time: new Date(a.time), a })), policy)
    .map((d) => ({
      archive: d.archive.a,
      action: d.action,
      reason: d.reason,
      datedInFuture: d.datedInFuture,
    }));
  const doomed = plan.filter((d) => d.action === "delete").map((d) => d.archive);
  if (!dryRun && doomed.length > 0) {
    // The archive first: a crash in between leaves an orphan sidecar, never an unverifiable archive.
    await backend.delete(doomed.map((a) => a.key));
    await backend.delete(doomed.map((a) => `${a.key}.sha256`));
  }
  const orphans = await findOrphanSidecars(backend);
  if (!dryRun && orphans.length > 0) await backend.delete(orphans);
  opts.onOrphanSidecars?.(orphans);
  return plan;
}

/**
 * The `archives/NAME.tar.gz.sha256` objects whose `NAME.tar.gz` is gone: what a prune killed between its
 * two deletes leaves. An upload stores its archive before its sidecar, so a sidecar whose archive a fresh
 * look (stat) does not find belongs to a deleted archive, even when the listing raced an upload.
 */
async function findOrphanSidecars(backend: Backend): Promise<string[]> {
  const keys = new Set<string>();
  for await (const o of backend.list(ARCHIVES_PREFIX)) keys.add(o.key);
  const orphans: string[] = [];
  for (const key of keys) {
    const name = key.slice(ARCHIVES_PREFIX.length);
    if (name.includes("/") || name.startsWith(".") || !name.endsWith(".tar.gz.sha256")) continue;
    const archive = key.slice(0, -".sha256".length);
    if (keys.has(archive) || await backend.stat(archive)) continue;
    orphans.push(key);
  }
  return orphans;
}
