/**
 * `backup create --dry-run`'s engine: what an archive of the server would hold, found by metadata only.
 * Nothing is written: no database copy, no temporary directory, no SQLite -wal/-shm files (a database
 * without a -wal file is measured from its header and size; one with a live -wal and -shm is asked
 * read-only, which is how page_count sees frames not yet checkpointed).
 */
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BadInputError, NotFoundError, toVigoError } from "../errors.ts";
import type { ServerConfig } from "../config/types.ts";
import { verbose, verboseEnabled } from "../verbose.ts";
import { readLinkTarget } from "../fsutil/link_target.ts";
import { ownFiles, type OwnFileVerdict } from "./own_files.ts";
import { checkLinkTarget, DB_ENTRY_PATH } from "./manifest.ts";
import { MASTER_KEY_ENTRY, topLevelSource } from "./source_roots.ts";
import { headerPageSize } from "../sqlite/snapshot_pages.ts";
import { requireDatabaseFile } from "../sqlite/pinned_database.ts";

/** One top-level part of the archive (`stacks/`, `secrets/`, `tls/`, `server.yaml`). */
export interface PreviewPart {
  path: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

/** What {@link previewArchive} found. */
export interface ArchivePreview {
  database: { source: string; path: string; pageSize: number; pageCount: number; bytes: number };
  parts: PreviewPart[];
  totalFiles: number;
  totalBytes: number;
  warnings: string[];
}

const TREES = ["stacks", "secrets", "tls"] as const;

/** The create flags that change what goes into an archive. */
export interface PreviewOptions {
  /** `--exclude-master-key`: secrets/.master.key is left out. */
  excludeMasterKey?: boolean;
  /** `--allow-missing-master-key`: no NotFoundError when it is missing. */
  allowMissingMasterKey?: boolean;
  /** The local archive create would write (left out of a tree it lies in). */
  output?: string;
}

/**
 * Lists what `backup create` would archive from `cfg`, file by file with -v; fails as create would when
 * secrets/.master.key is missing (unless excluded or allowed).
 */
export function previewArchive(cfg: ServerConfig, opts: PreviewOptions = {}): ArchivePreview {
  const db = databaseSize(cfg.database.path);
  if (verboseEnabled()) verbose(`would archive ${DB_ENTRY_PATH} (${db.pageCount * db.pageSize} bytes)`);
  const warnings: string[] = [];
  const parts: PreviewPart[] = [];
  const walk = new PreviewWalk(
    warnings,
    opts.excludeMasterKey ? MASTER_KEY_ENTRY : undefined,
    ownFiles({ snapshotsDir: cfg.paths.snapshots, output: opts.output }),
  );
  // Top-level links are followed, as create does (source_roots.ts).
  for (const tree of TREES) {
    const path = join(cfg.serverRoot, tree);
    const src = topLevelSource(path);
    if (!src) {
      warnings.push(`${path}: does not exist, not archived`);
      continue;
    }
    const part: PreviewPart = { path: `${tree}/`, files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    walk.add(src.real, tree, part);
    parts.push(part);
  }
  const yaml: PreviewPart = { path: "server.yaml", files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  walk.add(topLevelSource(cfg.serverYamlPath)?.real ?? cfg.serverYamlPath, "server.yaml", yaml);
  parts.push(yaml);
  if (!opts.excludeMasterKey && !opts.allowMissingMasterKey && !walk.sawMasterKey) {
    throw new NotFoundError(
      `${cfg.serverRoot}/${MASTER_KEY_ENTRY}: not found as a regular file; create would refuse ` +
        "(pass --allow-missing-master-key or --exclude-master-key)",
    );
  }
  const bytes = db.pageCount * db.pageSize;
  return {
    database: { source: cfg.database.path, path: DB_ENTRY_PATH, ...db, bytes },
    parts,
    totalFiles: 1 + parts.reduce((n, p) => n + p.files, 0),
    totalBytes: bytes + parts.reduce((n, p) => n + p.bytes, 0),
    warnings,
  };
}

/** The same rules as create's first pass (source_tree.ts), without reading any file's content. */
class PreviewWalk {
  sawMasterKey = false;

  constructor(
    private readonly warnings: string[],
    private readonly leaveOut: string | undefined,
    private readonly own: (sourcePath: string) => OwnFileVerdict,
  ) {}

  add(path: string, archivePath: string, part: PreviewPart, listed = false): void {
    const own = listed ? this.own(path) : undefined;
    if (own !== undefined) {
      if (own) this.warnings.push(own);
      return;
    }
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      throw toVigoError(err, path);
    }
    if (st.isDirectory()) {
      part.dirs++;
      let names: string[];
      try {
        names = readdirSync(path);
      } catch (err) {
        throw toVigoError(err, path);
      }
      for (const name of names.sort()) this.add(join(path, name), `${archivePath}/${name}`, part, true);
    } else if (st.isSymbolicLink()) {
      const target = readLinkTarget(path);
      try {
        checkLinkTarget(archivePath, target);
        part.symlinks++;
      } catch {
        this.warnings.push(`${path}: symbolic link to ${target} points outside the archived tree; skipped`);
      }
    } else if (st.isFile()) {
      if (archivePath === MASTER_KEY_ENTRY) this.sawMasterKey = true;
      if (archivePath === this.leaveOut) return;
      part.files++;
      part.bytes += st.size;
      if (verboseEnabled()) verbose(`would archive ${archivePath} (${st.size} bytes)`);
    } else {
      this.warnings.push(`${path}: skipped (not a regular file, directory or symbolic link)`);
    }
  }
}

/** Page size and count of the live database, without creating any file next to it. */
function databaseSize(path: string): { pageSize: number; pageCount: number } {
  requireDatabaseFile(path);
  if (existsSync(`${path}-wal`) && existsSync(`${path}-shm`)) {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { readOnly: true, timeout: 30_000 });
      const pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
      const pageCount = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
      return { pageSize, pageCount };
    } catch (err) {
      throw toVigoError(err, path);
    } finally {
      db?.close();
    }
  }
  // No WAL: the file is the whole database, its page size in the header.
  const head = new Uint8Array(100);
  let size: number;
  try {
    size = statSync(path).size;
    const fd = openSync(path, "r");
    try {
      readSync(fd, head, 0, 100, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw toVigoError(err, path);
  }
  if (new TextDecoder().decode(head.subarray(0, 16)) !== "SQLite format 3\0") {
    throw new BadInputError(`${path}: not an SQLite database`);
  }
  const pageSize = headerPageSize(head);
  return { pageSize, pageCount: Math.ceil(size / pageSize) };
}
