/**
 * `backup create`'s engine: snapshot the database, walk and hash the tree (pass one), then stream
 * manifest.json and every entry as tar → parallel gzip → [encryption] → any byte sink (pass two).
 * The sink is a plain `WritableStream<Uint8Array>`: a local file (file_sink.ts) is one implementation,
 * a remote upload can be another.
 */
import { rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { BadInputError, ConfigError, toVigoError, VerifyError } from "../errors.ts";
import type { ServerConfig } from "../config/types.ts";
import { requireSqlite } from "../config/server_yaml.ts";
import { inspectDatabase, snapshotDatabase } from "../sqlite/online_snapshot.ts";
import { sqliteVersion, VERSION } from "../version.ts";
import { runtimeVersion } from "../runtime.ts";
import { encodeHeader, endOfArchive, padding, type TarHeader } from "../codec/tar/tar_format.ts";
import { type ParallelGzipOptions, ParallelGzipWriter } from "../codec/gzip/gzip_parallel.ts";
import { makeTempDir } from "./interrupt_cleanup.ts";
import { recoverInterruptedRestore } from "./restore_journal.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { readChunks, type SourceEntry, SourceWalker } from "./source_tree.ts";
import {
  DB_ENTRY_PATH,
  encodeManifest,
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_PATH,
  MANIFEST_VERSION,
  type ManifestEntry,
  modeString,
} from "./manifest.ts";

/** A source file changed between the hashing pass and the writing pass; running again helps. */
export class FileChangedError extends BadInputError {}

/** What {@link writeArchive} needs. */
export interface WriteArchiveOptions {
  config: ServerConfig;
  /** Directory for the temporary database copy (same filesystem as the output is best). */
  workDir: string;
  /** Inserted between gzip and the sink (encryption). */
  transform?: TransformStream<Uint8Array, Uint8Array>;
  gzip?: ParallelGzipOptions;
}

/** What {@link writeArchive} produced. */
export interface WriteArchiveResult {
  manifest: Manifest;
  /** Uncompressed tar bytes. */
  tarBytes: number;
  warnings: string[];
}

/** The server-tree directories an archive holds, besides the database and server.yaml. */
const TREES = ["stacks", "secrets", "tls"] as const;

/** Writes a complete archive to `sink` and closes it; on failure aborts it. */
export async function writeArchive(
  opts: WriteArchiveOptions,
  sink: WritableStream<Uint8Array>,
): Promise<WriteArchiveResult> {
  const cfg = opts.config;
  requireSqlite(cfg);
  // A restore killed mid-commit left the server root half old, half new: roll it back before
  // archiving it. Then leftovers of dead creates in the work directory go.
  recoverInterruptedRestore(cfg.serverRoot);
  sweepStaleTemps(opts.workDir);
  const { path: tmp, forget } = makeTempDir(opts.workDir, ".vigo-backup-");
  const piping = opts.transform ? opts.transform.readable.pipeTo(sink) : Promise.resolve();
  piping.catch(() => {});
  const writer = (opts.transform ? opts.transform.writable : sink).getWriter();
  let gz: ParallelGzipWriter | undefined;
  try {
    const createdAt = new Date();
    const dbCopy = join(tmp, "vigo.db");
    await snapshotDatabase(cfg.database.path, dbCopy);
    const facts = inspectDatabase(dbCopy);
    if (facts.integrity !== "ok") {
      throw new VerifyError(`${cfg.database.path}: snapshot fails integrity_check: ${facts.integrity}`);
    }
    const walker = await walkSources(cfg, dbCopy);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      format_version: MANIFEST_VERSION,
      created_at: createdAt.toISOString(),
      tool: { name: "vigocli", version: VERSION, runtime: runtimeVersion() },
      sqlite_version: sqliteVersion(),
      hostname: hostname(),
      source: { server_root: cfg.serverRoot, server_yaml: cfg.serverYamlPath, database: cfg.database.path },
      database: {
        path: DB_ENTRY_PATH,
        page_size: facts.pageSize,
        page_count: facts.pageCount,
        integrity_check: facts.integrity,
      },
      entries: walker.entries.map(toManifestEntry),
    };
    gz = new ParallelGzipWriter(writer, opts.gzip);
    // The manifest goes alone into the first gzip member, so readers find it without inflating more.
    const manifestBytes = encodeManifest(manifest);
    await writeEntry(gz, {
      path: MANIFEST_PATH,
      type: "file",
      mode: 0o644,
      size: manifestBytes.length,
      mtime: Math.floor(createdAt.getTime() / 1000),
      uid: 0,
      gid: 0,
    }, [manifestBytes]);
    await gz.cut();
    for (const e of walker.entries) {
      await writeSourceEntry(gz, e);
      e.content = undefined; // written: let the memory go now rather than at the end
    }
    await gz.write(endOfArchive());
    await gz.flush();
    await writer.close();
    await piping;
    return { manifest, tarBytes: gz.bytesIn, warnings: walker.warnings };
  } catch (err) {
    await writer.abort(err).catch(() => {});
    await piping.catch(() => {});
    throw err;
  } finally {
    gz?.close();
    await rm(tmp, { recursive: true, force: true });
    forget();
  }
}

async function walkSources(cfg: ServerConfig, dbCopy: string): Promise<SourceWalker> {
  const walker = new SourceWalker();
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
    mtime: Math.floor(liveDir.mtimeMs / 1000),
    uid: liveDir.uid,
    gid: liveDir.gid,
  });
  walker.add(dbCopy, DB_ENTRY_PATH);
  // The copy is ours; the archive records the live file's metadata.
  const db = walker.entries[walker.entries.length - 1];
  Object.assign(db, {
    stable: true,
    mode: live.mode & 0o7777,
    mtime: Math.floor(live.mtimeMs / 1000),
    uid: live.uid,
    gid: live.gid,
  });
  for (const tree of TREES) {
    const path = join(cfg.serverRoot, tree);
    const st = await stat(path).catch(() => null);
    if (!st) {
      walker.warnings.push(`${path}: does not exist, not archived`);
      continue;
    }
    walker.add(path, tree);
  }
  walker.add(cfg.serverYamlPath, "server.yaml");
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

async function writeEntry(gz: ParallelGzipWriter, h: TarHeader, data: Iterable<Uint8Array>): Promise<void> {
  await gz.write(encodeHeader(h));
  for (const chunk of data) await gz.write(chunk);
  const pad = padding(h.size);
  if (pad > 0) await gz.write(new Uint8Array(pad));
}

async function writeSourceEntry(gz: ParallelGzipWriter, e: SourceEntry): Promise<void> {
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
  if (e.type !== "file") return writeEntry(gz, header, []);
  if (e.content) return writeEntry(gz, header, [e.content]);
  await gz.write(encodeHeader(header));
  const h = createHash("sha256");
  let size = 0;
  try {
    for (const chunk of readChunks(e.sourcePath, e.size)) {
      if (!e.stable) h.update(chunk);
      size += chunk.length;
      await gz.write(chunk);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new FileChangedError(`${e.sourcePath}: removed while the archive was being written`);
    }
    throw toVigoError(err, e.sourcePath);
  }
  if (size !== e.size || (!e.stable && h.digest("hex") !== e.sha256)) {
    throw new FileChangedError(`${e.sourcePath}: changed while the archive was being written`);
  }
  const pad = padding(e.size);
  if (pad > 0) await gz.write(new Uint8Array(pad));
}
