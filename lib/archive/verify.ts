/**
 * `backup verify`'s engine: the sidecar, every entry's SHA-256 against the manifest, and a full
 * `PRAGMA integrity_check` of the contained database, extracted to a private temporary directory
 * (checked on a worker while the entries after it are still being read).
 */
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { IoError, toVigoError, VerifyError } from "../errors.ts";
import { NEXT_RUN_SWEEP, removeTemporaryTree, removingTree } from "../fsutil/left_temp.ts";
import type { KdfCap } from "../crypto/kdf_cap.ts";
import { checkNotRunError, inspectDatabase, summarizeIntegrity } from "../sqlite/database_facts.ts";
import { type BackgroundCheck, startIntegrityCheck } from "../sqlite/background_check.ts";
import { IntegrityError, scanArchive, type ScanResult } from "./archive_scan.ts";
import type { PasswordSource } from "./archive_source.ts";
import { DB_ENTRY_PATH } from "./manifest.ts";
import { makeTempDir } from "./interrupt_cleanup.ts";
import { sweepStaleTemps, sweepSystemTemps } from "../fsutil/stale_temps.ts";

/** The result of a verification that passed. */
export interface VerifyReport {
  scan: ScanResult;
  integrityCheck: string;
  pageSize: number;
  pageCount: number;
}

/** Verifies an archive; throws {@link VerifyError} naming the first check that failed. */
export async function verifyArchive(
  path: string,
  opts: { password?: PasswordSource; workDir?: string; kdfCap?: KdfCap },
): Promise<VerifyReport> {
  // Next to the archive by default: /tmp is often a RAM-backed tmpfs, too small for a large database.
  const workDir = opts.workDir ?? dirname(resolve(path));
  // A killed verify's scratch (the decrypted database of an encrypted archive) goes first: its name
  // carries its dead PID, and without this only a create or restore in the same directory removed it.
  sweepStaleTemps(workDir);
  sweepSystemTemps();
  const { path: dir, forget } = tempDirFor(workDir);
  const dbPath = join(dir, "vigo.db");
  // Started once the database is extracted, so it runs on a worker while the rest is scanned.
  let check: BackgroundCheck | undefined;
  let report: VerifyReport;
  try {
    let scan: ScanResult;
    try {
      scan = await scanArchive(
        path,
        { password: opts.password, requireSidecar: true, kdfCap: opts.kdfCap },
        async (entry) => {
          if (entry.path !== DB_ENTRY_PATH) return undefined;
          const fh = await open(dbPath, "wx", 0o600);
          return {
            async write(chunk) {
              let off = 0;
              try {
                while (off < chunk.length) {
                  off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
                }
              } catch (err) {
                // The errno carries no path, and the archive's name alone read as if the archive (not
                // the extracted copy beside it) had hit a full or failing disk.
                throw toVigoError(err, dbPath);
              }
            },
            async close() {
              await fh.close();
              check = startIntegrityCheck(dbPath);
            },
            abort: () => fh.close(),
          };
        },
      );
    } catch (err) {
      check?.cancel();
      if (err instanceof IntegrityError) throw new VerifyError(err.message, { cause: err });
      throw err;
    }
    const facts = check ? await check.result() : inspectDatabase(dbPath);
    const notRun = checkNotRunError(facts, dbPath);
    if (notRun) throw notRun;
    if (facts.integrity !== "ok") {
      throw new VerifyError(
        `${path}: contained database fails integrity_check: ${summarizeIntegrity(facts.integrity)}`,
      );
    }
    const db = scan.manifest.database;
    if (facts.pageSize !== db.page_size || facts.pageCount !== db.page_count) {
      throw new VerifyError(`${path}: contained database's page size/count differ from the manifest`);
    }
    report = { scan, integrityCheck: facts.integrity, pageSize: facts.pageSize, pageCount: facts.pageCount };
  } catch (err) {
    // Its verdict stays the error (a monitor reads the exit code) when its scratch cannot be removed.
    // Beside the archive or in the system temporary directory, the next verify's sweeps remove it.
    const e = await removingTree(err, dir, "scratch directory", NEXT_RUN_SWEEP);
    forget();
    throw e;
  }
  const problem = await removeTemporaryTree(dir);
  forget();
  if (problem !== undefined) throw new IoError(`${dir}: ${problem}`, { path: dir });
  return report;
}

/** `.vigo-verify-*` in `dir`, else `vigo-verify-*` in the system temp directory (`dir` read-only). */
function tempDirFor(dir: string): { path: string; forget: () => void } {
  try {
    return makeTempDir(dir, ".vigo-verify-");
  } catch {
    return makeTempDir(tmpdir(), "vigo-verify-");
  }
}
