/**
 * Restores a dump (ours, or any `sqlite3 .dump` output; gzip or plain) into a new SQLite database.
 * The database is built under a temporary name next to the output and renamed into place only after
 * every statement ran and the file was fsynced, so a failed restore never leaves a plausible-looking
 * database behind.
 */
import { DatabaseSync } from "node:sqlite";
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readSync, rmSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { BadInputError, ExistsError, toVigoError, VigoError } from "../errors.ts";
import {
  fsyncDirectory,
  linkIntoPlace,
  requireDestinationFolder,
  tempPathFor,
} from "../fsutil/atomic_file.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { SqlStatementSplitter } from "./sql_splitter.ts";
import { restrictToDumpStatements } from "./dump_authorizer.ts";

const BATCH_CHARS = 1 << 20;

/** What a restore did. */
export interface RestoreResult {
  /** Characters of SQL executed. */
  sqlChars: number;
}

/** Restores `dumpPath` into the new database `outPath` (which must not exist). */
export async function restoreDump(dumpPath: string, outPath: string): Promise<RestoreResult> {
  const outDir = dirname(outPath);
  // A restore killed mid-way left its temporary database (and journal) here, or its temporary name
  // beside the linked result: gone once it is dead, before the refusal below.
  sweepStaleTemps(outDir);
  if (existsSync(outPath)) throw new ExistsError(`${outPath}: already exists; choose a new output path`);
  requireRegularFile(dumpPath, "the dump");
  requireDestinationFolder(outPath);
  const input = openInput(dumpPath);
  const temp = tempPathFor(outPath);
  let db: DatabaseSync | undefined;
  let sqlChars = 0;
  try {
    const conn = db = new DatabaseSync(temp);
    // dumps recreate virtual tables by inserting into sqlite_schema (as sqlite3 .dump does), which
    // SQLite's defensive mode forbids
    (conn as unknown as { enableDefensive?: (on: boolean) => void }).enableDefensive?.(false);
    conn.exec("PRAGMA synchronous=OFF");
    const policy = restrictToDumpStatements(conn);
    const splitter = new SqlStatementSplitter();
    const decoder = new TextDecoder();
    let batch = "";
    const run = (sql: string) => {
      try {
        conn.exec(sql);
      } catch (err) {
        const refused = policy.refused();
        if (refused) {
          throw new BadInputError(
            `${dumpPath}: refused ${refused}: a dump may only create and fill tables of the new database`,
            { cause: err },
          );
        }
        throw new BadInputError(`${dumpPath}: ${(err as Error).message}`, { cause: err });
      }
      sqlChars += sql.length;
    };
    try {
      for await (const chunk of input as AsyncIterable<Uint8Array>) {
        batch += splitter.push(decoder.decode(chunk, { stream: true }));
        if (batch.length >= BATCH_CHARS) {
          run(batch);
          batch = "";
        }
      }
    } catch (err) {
      if (err instanceof VigoError) throw err;
      throw new BadInputError(`${dumpPath}: not a readable dump (${(err as Error).message})`, { cause: err });
    }
    batch += splitter.push(decoder.decode());
    if (batch !== "") run(batch);
    if (!isBlank(splitter.rest()) || conn.isTransaction) {
      throw new BadInputError(`${dumpPath}: dump is truncated (ends inside a statement or before COMMIT)`);
    }
    conn.close();
    syncFile(temp);
    // Not over a file made at outPath meanwhile (exit 10 instead).
    linkIntoPlace(temp, outPath);
    fsyncDirectory(outDir);
  } catch (err) {
    if (db?.isOpen) db.close();
    rmSync(temp, { force: true });
    rmSync(`${temp}-journal`, { force: true });
    throw toVigoError(err, outPath);
  }
  return { sqlChars };
}

/** The dump's text stream: gunzipped when it starts with the gzip magic. */
function openInput(path: string): Readable {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw toVigoError(err, path);
  }
  const magic = new Uint8Array(2);
  const n = readSync(fd, magic, 0, 2, 0);
  closeSync(fd);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (n === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    raw.on("error", (err) => gunzip.destroy(err));
    return raw.pipe(gunzip);
  }
  return raw;
}

function isBlank(sql: string): boolean {
  return sql.replace(/--[^\n]*(\n|$)/g, "").replace(/\/\*[\s\S]*?\*\//g, "").trim() === "";
}

function syncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
