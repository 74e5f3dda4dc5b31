/**
 * The `db_backup` executor's type-specific part: each snapshot directory holds one deterministic dump
 * `<db name>.sql.gz`. When the new dump is byte-identical to the previous snapshot's, it is replaced by
 * a hardlink to it, so an unchanged database costs no space however many snapshots are kept.
 */
import { closeSync, existsSync, linkSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { Buffer } from "node:buffer";
import { NotFoundError, toVigoError } from "../errors.ts";
import type { DbBackupResource } from "./crate_file.ts";
import { writeGzipDump } from "./dump_file.ts";
import type { ResourceExecutor } from "./resource_run.ts";
import type { SnapshotEntry } from "./snapshot_store.ts";

/** What one db_backup snapshot holds. */
export interface DbBackupStats {
  /** File name of the dump inside the snapshot directory. */
  file: string;
  tables: number;
  rows: number;
  /** Compressed bytes. */
  bytes: number;
  /** True when the dump equals the previous one and was hardlinked to it. */
  linked: boolean;
}

/** File name of the dump of `sourceDb`: `vigo.db` → `vigo.sql.gz`. */
export function dumpFileName(sourceDb: string): string {
  const base = basename(sourceDb);
  const ext = extname(base);
  return `${ext ? base.slice(0, -ext.length) : base}.sql.gz`;
}

/** Executor for one `type: db_backup` resource. */
export function dbBackupExecutor(res: DbBackupResource): ResourceExecutor<DbBackupStats> {
  const file = dumpFileName(res.sourceDb);
  return {
    source: res.sourceDb,
    preflight() {
      if (!existsSync(res.sourceDb)) throw new NotFoundError(`${res.sourceDb}: source_db does not exist`);
    },
    async build(dest: string | null, prev: SnapshotEntry | null, dryRun: boolean) {
      if (dryRun || dest === null) return { file, tables: 0, rows: 0, bytes: 0, linked: false };
      const out = join(dest, file);
      const r = await writeGzipDump(res.sourceDb, out);
      const prevFile = prev ? join(prev.path, file) : null;
      let linked = false;
      if (prevFile && sameBytes(out, prevFile)) {
        try {
          rmSync(out);
          linkSync(prevFile, out);
          linked = true;
        } catch (err) {
          throw toVigoError(err, out);
        }
      }
      return { file, tables: r.tables, rows: r.rows, bytes: r.bytes, linked };
    },
    describe(stats: DbBackupStats, dryRun: boolean): string[] {
      if (dryRun) return [`would dump ${res.sourceDb} to ${file} (hardlinked if unchanged)`];
      return [
        `dumped ${stats.tables} tables, ${stats.rows} rows to ${file} (${stats.bytes} bytes, ` +
        `${stats.linked ? "unchanged: hardlinked to previous" : "new content"})`,
      ];
    },
  };
}

/** Byte-for-byte comparison of two files. */
function sameBytes(a: string, b: string): boolean {
  const sb = statSync(b, { throwIfNoEntry: false });
  if (!sb || statSync(a).size !== sb.size) return false;
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = new Uint8Array(1 << 20);
    const bb = new Uint8Array(1 << 20);
    for (let pos = 0;;) {
      const na = readSync(fa, ba, 0, ba.length, pos);
      const nb = readSync(fb, bb, 0, bb.length, pos);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (Buffer.compare(ba.subarray(0, na), bb.subarray(0, nb)) !== 0) return false;
      pos += na;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
