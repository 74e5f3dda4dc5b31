/**
 * `backup create`'s engine: pin a snapshot of the database, hash it and walk and hash the tree (pass
 * one), then stream manifest.json and every entry — the database image read again under the same
 * pin — as tar → parallel gzip → [encryption] → any byte sink (pass two).
 * The sink is a plain `WritableStream<Uint8Array>`: a local file (file_sink.ts) is one implementation,
 * a remote upload can be another.
 */
import { stat } from "node:fs/promises";
import { rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { BadInputError, ConfigError, IoError, toVigoError, VerifyError } from "../errors.ts";
import type { ServerConfig } from "../config/types.ts";
import { PinnedDatabase } from "../sqlite/pinned_database.ts";
import { copyNote, type LeftCopy } from "../sqlite/temp_copy.ts";
import { NEXT_RUN_SWEEP, withNote } from "../fsutil/left_temp.ts";
import { sqliteVersion, VERSION } from "../version.ts";
import { runtimeVersion } from "../runtime.ts";
import type { TarHeader } from "../codec/tar/tar_format.ts";
import { TarWriter } from "../codec/tar/tar_writer.ts";
import { type ParallelGzipOptions, ParallelGzipWriter } from "../codec/gzip/gzip_parallel.ts";
import { prepareCreate, TREES } from "./create_prepare.ts";
import { ownFiles, type OwnFileVerdict } from "./own_files.ts";
import { makeTempDir } from "./interrupt_cleanup.ts";
import { type ProgressPhase, progressPhase } from "../progress.ts";
import { verbose, verboseEnabled } from "../verbose.ts";
import { readChunks, type SourceEntry, SourceWalker } from "./source_tree.ts";
import { replacedPaths, requireMasterKey, topLevelSource } from "./source_roots.ts";
import {
  DB_ENTRY_PATH,
  encodeManifest,
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_PATH,
  MANIFEST_VERSION,
  type ManifestEntry,
  MASTER_KEY_ENTRY_PATH,
  modeString,
} from "./manifest.ts";
import { mtimeSeconds } from "../fsutil/mtime_seconds.ts";

/** A source file changed between the hashing pass and the writing pass; running again helps. */
export class FileChangedError extends BadInputError {}

/** What {@link writeArchive} needs. */
export interface WriteArchiveOptions {
  config: ServerConfig;
  /** The output's directory, where leftovers of interrupted creates are swept. */
  workDir: string;
  /** The local archive being written, if any: left out of the trees walked when it lies inside one. */
  output?: string;
  /** Inserted between gzip and the sink (encryption). */
  transform?: TransformStream<Uint8Array, Uint8Array>;
  /**
   * The archive is encrypted: a rollback-journal database's plaintext copy goes beside the live database
   * (which is as exposed already), not into `workDir` (the output's directory: perhaps removable media or
   * a share, the reason to encrypt), where a killed create left it readable. See {@link copyPlace}.
   */
  copyBesideDatabase?: boolean;
  gzip?: ParallelGzipOptions;
  /**
   * Leave `secrets/.master.key` out (the spec's "protect the master key separately"); the manifest
   * then lists it under `excluded`, and `backup restore --master-key FILE` puts it back.
   */
  excludeMasterKey?: boolean;
  /** How long to wait for another process's lock on the database (default 30 s), then BusyError. */
  lockTimeoutMs?: number;
  /** Write an archive even when secrets/.master.key is missing (otherwise NotFoundError). */
  allowMissingMasterKey?: boolean;
}

/** What {@link writeArchive} produced. */
export interface WriteArchiveResult {
  manifest: Manifest;
  /** Uncompressed tar bytes. */
  tarBytes: number;
  warnings: string[];
  /**
   * The archive is complete but the copy of the database it was read from could not be removed: the
   * caller reports the archive first, then this (exit 11).
   */
  copyLeft?: IoError;
}

/**
 * The directory a rollback-journal database's copy is made in: `.vigo-backup-<pid>-*` in `dir` (its PID
 * lets the next create's sweep of `dir` remove it). Beside the database (`besideDatabase`, an encrypted
 * archive) the copy needs room for the database on that file system: when `dir` cannot take a directory
 * (read-only, not ours) it goes to the system's temporary directory, never the output's, where the next
 * create's sweepSystemTemps removes it.
 */
function copyPlace(dir: string, besideDatabase: boolean): { path: string; forget: () => void } {
  try {
    return makeTempDir(dir, ".vigo-backup-");
  } catch (err) {
    if (!besideDatabase) throw err;
    return makeTempDir(tmpdir(), "vigo-backup-");
  }
}

/** Writes a complete archive to `sink` and closes it; on failure aborts it. */
export async function writeArchive(
  opts: WriteArchiveOptions,
  sink: WritableStream<Uint8Array>,
): Promise<WriteArchiveResult> {
  const cfg = opts.config;
  // The sink is taken before anything can fail, so every failure below aborts it: a file sink's
  // temporary file is removed and its `done` settles, rather than an open handle left to the collector.
  const piping = opts.transform ? opts.transform.readable.pipeTo(sink) : Promise.resolve();
  piping.catch(() => {});
  const writer = (opts.transform ? opts.transform.writable : sink).getWriter();
  let gz: ParallelGzipWriter | undefined;
  let progress: ProgressPhase | undefined;
  let db: PinnedDatabase | undefined;
  let copyLeft: LeftCopy | undefined;
  let result: WriteArchiveResult;
  try {
    const { copyDir, restorable, identities } = await prepareCreate(
      cfg,
      opts.workDir,
      opts.copyBesideDatabase,
    );
    const createdAt = new Date();
    // The pin's integrity_check runs on its worker while this thread hashes the image and the tree
    // and compresses everything. Its verdict is awaited before the archive is committed, so a
    // snapshot that fails it never becomes an archive (README, performance decisions).
    db = await PinnedDatabase.pin(cfg.database.path, opts.lockTimeoutMs, () => {
      // Only a rollback-journal database is copied (lib/sqlite/pinned_database.ts says why).
      const { path, forget } = copyPlace(copyDir, copyDir !== opts.workDir);
      return {
        path: join(path, "vigo.db"),
        dir: path,
        // Its name carries this PID: the next create's sweep of that directory (or the system temporary
        // one) removes it.
        sweep: NEXT_RUN_SWEEP,
        remove: () => {
          rmSync(path, { recursive: true, force: true });
          forget();
        },
      };
    });
    const followed: Record<string, string> = {};
    const own = ownFiles({
      snapshotsDir: cfg.paths.snapshots,
      output: opts.output,
      workDir: opts.workDir,
      copyDir,
    });
    // Left out on purpose, by the walk, so it is never opened (a backup user may be unable to read a
    // root-owned key): the manifest says so, and restore --master-key puts it back.
    const leaveOut = new Set(opts.excludeMasterKey ? [MASTER_KEY_ENTRY_PATH] : []);
    const walker = await walkSources(cfg, db, followed, own, leaveOut);
    if (!opts.excludeMasterKey) {
      requireMasterKey(walker.entries, cfg.serverRoot, opts.allowMissingMasterKey ?? false);
    }
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      format_version: MANIFEST_VERSION,
      created_at: createdAt.toISOString(),
      tool: { name: "vigocli", version: VERSION, runtime: runtimeVersion() },
      sqlite_version: sqliteVersion(),
      hostname: hostname(),
      source: {
        server_root: cfg.serverRoot,
        server_yaml: cfg.serverYamlPath,
        database: cfg.database.path,
        ...(Object.keys(followed).length > 0 ? { followed } : {}),
      },
      database: {
        path: DB_ENTRY_PATH,
        page_size: db.pageSize,
        page_count: db.pageCount,
        // Recorded ahead of the verdict: any other verdict aborts the archive below.
        integrity_check: "ok",
      },
      entries: walker.entries.map(toManifestEntry),
    };
    if (opts.excludeMasterKey) manifest.excluded = [MASTER_KEY_ENTRY_PATH];
    gz = new ParallelGzipWriter(writer, opts.gzip);
    const tar = new TarWriter(gz);
    // The manifest goes alone into the first gzip member, so readers find it without inflating more.
    const manifestBytes = encodeManifest(manifest);
    await tar.entry({
      path: MANIFEST_PATH,
      type: "file",
      mode: 0o644,
      size: manifestBytes.length,
      mtime: Math.floor(createdAt.getTime() / 1000),
      uid: 0,
      gid: 0,
    }, [manifestBytes]);
    await gz.cut();
    const total = walker.entries.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
    progress = progressPhase(`archiving ${cfg.serverRoot}`, total, "bytes");
    for (const e of walker.entries) {
      if (verboseEnabled()) verbose(`archive ${e.archivePath} <- ${e.sourcePath}`);
      await writeSourceEntry(tar, e, progress);
      e.content = undefined; // written: let the memory go now rather than at the end
    }
    progress.end();
    await tar.end();
    await gz.flush();
    const integrity = await db.integrity();
    if (integrity !== "ok") {
      throw new VerifyError(`${cfg.database.path}: snapshot fails integrity_check: ${integrity}`);
    }
    // Named: an operator who saved server.yaml (an editor renames it into place) must not read that
    // the database was replaced, nor look under the server root for a server.yaml kept elsewhere.
    const replaced = replacedPaths(restorable, identities);
    if (replaced.length > 0) {
      throw new FileChangedError(
        `${
          replaced.join(", ")
        }: replaced (by a restore, or an editor saving it) while the archive was being written`,
      );
    }
    // Every byte has been read: the pin need not last through the commit or an upload.
    copyLeft = await db.release();
    await writer.close();
    await piping;
    result = { manifest, tarBytes: gz.bytesIn, warnings: walker.warnings };
  } catch (err) {
    await writer.abort(err).catch(() => {});
    await piping.catch(() => {});
    const left = await db?.release();
    throw left ? withNote(toVigoError(err), copyNote(left)) : err;
  } finally {
    progress?.end();
    gz?.close();
    await db?.release();
  }
  if (copyLeft) {
    // The archive is written and complete; what failed is the clean-up of the copy it was read from.
    result.copyLeft = new IoError(
      `${copyLeft.path}: could not be removed (${copyLeft.problem}) after the archive was written; ` +
        `it is left for ${copyLeft.sweep}`,
      { path: copyLeft.path },
    );
  }
  return result;
}

async function walkSources(
  cfg: ServerConfig,
  db: PinnedDatabase,
  followed: Record<string, string>,
  own: (sourcePath: string) => OwnFileVerdict,
  leaveOut: ReadonlySet<string>,
): Promise<SourceWalker> {
  const hashing = progressPhase(`hashing ${cfg.serverRoot}`, undefined, "bytes");
  try {
    return await walkSourcesCounted(cfg, db, followed, hashing, own, leaveOut);
  } finally {
    hashing.end();
  }
}

async function walkSourcesCounted(
  cfg: ServerConfig,
  db: PinnedDatabase,
  followed: Record<string, string>,
  hashing: ProgressPhase,
  own: (sourcePath: string) => OwnFileVerdict,
  leaveOut: ReadonlySet<string>,
): Promise<SourceWalker> {
  const liveFiles = new Set(["", "-wal", "-shm", "-journal"].map((suffix) => db.liveFile + suffix));
  const walker = new SourceWalker((n) => hashing.advance(n), liveFiles, own, leaveOut);
  const dbLink = topLevelSource(cfg.database.path)?.link;
  if (dbLink !== undefined) followed[DB_ENTRY_PATH] = dbLink;
  const live = await stat(cfg.database.path).catch((err) => {
    throw toVigoError(err, cfg.database.path);
  });
  const liveDir = await stat(dirname(cfg.database.path));
  walker.entries.push({
    archivePath: "db/",
    sourcePath: dirname(cfg.database.path),
    type: "dir",
    mode: liveDir.mode & 0o7777,
    size: 0,
    mtime: mtimeSeconds(liveDir, dirname(cfg.database.path), true),
    uid: liveDir.uid,
    gid: liveDir.gid,
  });
  walker.addBytes({
    archivePath: DB_ENTRY_PATH,
    sourcePath: cfg.database.path,
    mode: live.mode & 0o7777,
    mtime: mtimeSeconds(live, cfg.database.path, true),
    uid: live.uid,
    gid: live.gid,
  }, () => db.chunks());
  for (const tree of TREES) {
    const path = join(cfg.serverRoot, tree);
    const src = topLevelSource(path);
    if (!src) {
      walker.warnings.push(`${path}: does not exist, not archived`);
      continue;
    }
    if (src.link !== undefined) followed[`${tree}/`] = src.link;
    walker.add(src.real, tree);
  }
  const yamlSrc = topLevelSource(cfg.serverYamlPath);
  if (yamlSrc?.link !== undefined) followed["server.yaml"] = yamlSrc.link;
  walker.add(yamlSrc?.real ?? cfg.serverYamlPath, "server.yaml");
  const yaml = walker.entries[walker.entries.length - 1];
  if (yaml.type !== "file") throw new ConfigError(`${cfg.serverYamlPath}: not a regular file`);
  return walker;
}

function toManifestEntry(e: SourceEntry): ManifestEntry {
  const out: ManifestEntry = { path: e.archivePath, type: e.type, mode: modeString(e.mode), mtime: e.mtime };
  if (e.type === "file") {
    out.size = e.size;
    out.sha256 = e.sha256;
  }
  if (e.type === "symlink") out.target = e.linkTarget;
  return out;
}

async function writeSourceEntry(tar: TarWriter, e: SourceEntry, progress: ProgressPhase): Promise<void> {
  const header: TarHeader = {
    path: e.archivePath,
    type: e.type,
    mode: e.mode,
    size: e.type === "file" ? e.size : 0,
    mtime: e.mtime,
    uid: e.uid,
    gid: e.gid,
    linkname: e.linkTarget,
  };
  if (e.type !== "file") return tar.entry(header);
  await tar.entry(header, counted(e.content ? [e.content] : checkedChunks(e), progress));
}

function* counted(chunks: Iterable<Uint8Array>, progress: ProgressPhase): Generator<Uint8Array> {
  for (const chunk of chunks) {
    progress.advance(chunk.length);
    yield chunk;
  }
}

/** The file's bytes as pass two reads them; throws if they are not the bytes pass one hashed. */
function* checkedChunks(e: SourceEntry): Generator<Uint8Array> {
  const h = createHash("sha256");
  let size = 0;
  try {
    // One byte past the size pass one saw: a file that grew meanwhile was cut to that size, its
    // archive taken for complete (found by review: 1 GiB + a line, exit 0, the line missing).
    for (const chunk of e.read ? e.read() : readChunks(e.sourcePath, e.size + 1)) {
      if (size + chunk.length > e.size) {
        throw new FileChangedError(`${e.sourcePath}: changed while the archive was being written`);
      }
      h.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new FileChangedError(`${e.sourcePath}: removed while the archive was being written`);
    }
    throw toVigoError(err, e.sourcePath);
  }
  if (size !== e.size || h.digest("hex") !== e.sha256) {
    throw new FileChangedError(`${e.sourcePath}: changed while the archive was being written`);
  }
}
