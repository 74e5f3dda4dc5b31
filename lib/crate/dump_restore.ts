/**
 * Restores a dump (ours, or any `sqlite3 .dump` output; gzip or plain) into a new SQLite database.
 * The database is built under a temporary name next to the output and renamed into place only after
 * every statement ran and the file was fsynced, so a failed restore never leaves a plausible-looking
 * database behind.
 */
import { DatabaseSync } from "node:sqlite";
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { basename, dirname } from "node:path";
import process from "node:process";
import type { Readable } from "node:stream";
import { BadInputError, ExistsError, toVigoError, VigoError } from "../errors.ts";
import {
  fsyncDirectory,
  linkIntoPlace,
  requireDestinationFolder,
  tempPathFor,
} from "../fsutil/atomic_file.ts";
import { requireRegularFile } from "../fsutil/regular_file.ts";
import { isStorageFailure, sqliteToVigoError } from "../sqlite/sqlite_errors.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { leftTemporaryError, removeTemporaries } from "../fsutil/left_temp.ts";
import { SqlStatementSplitter } from "./sql_splitter.ts";
import { restrictToDumpStatements } from "./dump_authorizer.ts";
import { SETTLE_MS, type StoppedOutcome } from "../archive/interrupt_cleanup.ts";

/** Longest SQLite error text a restore error quotes: it may echo a whole statement of row data. */
const PROBLEM_CHARS = 200;

/** Who removes a temporary database left behind: the name carries the dead run's PID. */
export const RESTORE_DUMP_SWEEP = "the next restore-dump's sweep";

/** What a restore did. */
export interface RestoreResult {
  /** Characters of SQL executed. */
  sqlChars: number;
}

/**
 * Restores `dumpPath` into the new database `outPath` (which must not exist). Once `signal` is aborted
 * (SIGINT, SIGTERM: see runInterruptible) it stops at the next piece of the dump, removes its temporary
 * database and journal and rejects with the signal's reason.
 */
export async function restoreDump(
  dumpPath: string,
  outPath: string,
  signal?: AbortSignal,
): Promise<RestoreResult> {
  const outDir = dirname(outPath);
  // A restore killed mid-way left its temporary database (and journal) here, or its temporary name
  // beside the linked result: gone once it is dead, before the refusal below.
  sweepStaleTemps(outDir);
  if (existsSync(outPath)) throw new ExistsError(`${outPath}: already exists; choose a new output path`);
  requireRegularFile(dumpPath, "the dump");
  requireDestinationFolder(outPath);
  const input = openInput(dumpPath);
  const temp = tempPathFor(outPath);
  // Made here, not by SQLite: its "unable to open database file" carries no errno, so a read-only or
  // unwritable directory was exit 1, and on Bun the cleanup's rm of the never-made file (EROFS) won.
  try {
    closeSync(openSync(temp, "wx", 0o644));
  } catch (err) {
    throw toVigoError(err, outPath);
  }
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
    // One exec per statement: it says which statement failed, and node:sqlite measured 5x faster
    // this way than one exec of a 5,000-statement batch.
    let statements = 0;
    let line = 1;
    // Whether a statement other than a PRAGMA ran: a dump cut after its header (`PRAGMA
    // foreign_keys=OFF;`) made an empty database, "restored", exit 0.
    let built = false;
    const run = (sql: string) => {
      statements++;
      try {
        conn.exec(sql);
        built ||= !/^pragma\b/i.test(withoutComments(sql).trim());
      } catch (err) {
        const where = `statement ${statements} (line ${
          line + newlines(sql, sql.length - sql.trimStart().length)
        })`;
        // The new database's disk failed, not the dump: read as a bad statement, a full disk was exit 4
        // blaming the dump, which an operator may then throw away.
        if (isStorageFailure(err)) {
          throw sqliteToVigoError(err, outPath);
        }
        const refused = policy.refused();
        if (refused) {
          throw new BadInputError(
            `${dumpPath}: ${where}: refused ${refused}: a dump may only create and fill tables of the new database`,
            { cause: err },
          );
        }
        throw new BadInputError(`${dumpPath}: ${where}: ${sqliteProblem(err as Error)}`, { cause: err });
      }
      line += newlines(sql, sql.length);
      sqlChars += sql.length;
    };
    try {
      for await (const chunk of input as AsyncIterable<Uint8Array>) {
        // Statements run synchronously: a signal's handler runs only while a piece is read, so this is
        // the first moment the restore can see it.
        signal?.throwIfAborted();
        for (const sql of splitter.push(decoder.decode(chunk, { stream: true }))) run(sql);
      }
    } catch (err) {
      if (err instanceof VigoError) throw err;
      throw new BadInputError(`${dumpPath}: not a readable dump (${(err as Error).message})`, { cause: err });
    }
    signal?.throwIfAborted();
    for (const sql of splitter.push(decoder.decode())) run(sql);
    const rest = splitter.rest();
    if (!isBlank(rest)) {
      const from = line + newlines(rest, rest.length - rest.trimStart().length);
      throw new BadInputError(
        `${dumpPath}: dump is truncated: statement ${statements + 1} (line ${from}) never ends`,
      );
    }
    if (statements === 0) throw new BadInputError(`${dumpPath}: dump is empty: no statement in it`);
    if (!built) {
      throw new BadInputError(
        `${dumpPath}: dump is truncated: nothing after its header (statement ${statements}, line ${line})`,
      );
    }
    if (conn.isTransaction) {
      throw new BadInputError(
        `${dumpPath}: dump is truncated: no COMMIT after statement ${statements} (line ${line})`,
      );
    }
    conn.close();
    syncFile(temp);
    // Not over a file made at outPath meanwhile (exit 10 instead).
    linkIntoPlace(temp, outPath);
    fsyncDirectory(outDir);
  } catch (err) {
    if (db?.isOpen) db.close();
    const failure = toVigoError(err, outPath);
    const left = removeTemporaries([temp, `${temp}-journal`]);
    if (left) {
      throw leftTemporaryError(failure, left.path, left.problem, RESTORE_DUMP_SWEEP, err === signal?.reason);
    }
    throw failure;
  }
  return { sqlChars };
}

/**
 * The one line an interrupted `crate restore-dump` prints (runInterruptible's report): what was stopped,
 * and whether the new database or its temporary files are left.
 */
export function interruptedRestoreDumpLine(
  dumpPath: string,
  outPath: string,
  outcome: StoppedOutcome,
  signal: string,
): string {
  const what = `restore of ${dumpPath} to ${outPath} interrupted (${signal})`;
  switch (outcome.kind) {
    case "finished":
      return `${what} as it completed: ${outPath} is whole`;
    case "undone":
      return `${what}; nothing of it was left: no ${outPath}, no temporary database`;
    case "left":
      return `${what}; ${outcome.error.message}`;
    case "unsettled":
      return `${what} before it had stopped (a second signal, or ${SETTLE_MS / 1000} s): its temporary ` +
        `database .${basename(outPath)}.tmp-${process.pid}-… may be left in ${dirname(outPath)}, where ` +
        "the next restore-dump removes it";
  }
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

/** Newlines among the first `end` characters of `text`. */
function newlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < end; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * SQLite's error as one short line: a syntax error's echo of the rest of the statement (" in <sql> at
 * offset N") is left out, the statement's line says where, and what remains is cut to PROBLEM_CHARS.
 */
function sqliteProblem(err: Error): string {
  // The token SQLite quotes ('unrecognized token: "X'53…'"', 'near "'x'": syntax error') is the dump's
  // data: left out too.
  const text = err.message.replace(/ in [\s\S]* at offset \d+$/, "").replace(/"[^"]*("|$)/g, '"…"')
    .replace(/\s+/g, " ");
  return text.length > PROBLEM_CHARS ? `${text.slice(0, PROBLEM_CHARS)}…` : text;
}

function withoutComments(sql: string): string {
  return sql.replace(/--[^\n]*(\n|$)/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
}

function isBlank(sql: string): boolean {
  return withoutComments(sql).trim() === "";
}

function syncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
