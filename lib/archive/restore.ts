/**
 * `backup restore`'s engine. The archive is read once into a staging directory inside the target
 * while every entry is checked against the manifest and the file against its sidecar; only when all
 * checks pass, the staged database has passed `PRAGMA integrity_check` and the staged files are on
 * disk are the staged items renamed into place; whatever they replace is moved to
 * `<target>/.pre-restore-<UTC time>/` so the restore can be undone. Any failure before that point
 * removes the staging directory and leaves the target as it was.
 */
import { lstat, mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { BadInputError, BusyError, IoError, toVigoError, VerifyError } from "../errors.ts";
import { removeTemporaryTree, removingTree } from "../fsutil/left_temp.ts";
import type { KdfCap } from "../crypto/kdf_cap.ts";
import { databaseInUse } from "../sqlite/lock_probe.ts";
import { type BackgroundCheck, startIntegrityCheck } from "../sqlite/background_check.ts";
import { checkNotRunError, type DatabaseFacts, summarizeIntegrity } from "../sqlite/database_facts.ts";
import type { TarHeader } from "../codec/tar/tar_format.ts";
import { scanArchive, type ScanResult } from "./archive_scan.ts";
import type { PasswordSource } from "./archive_source.ts";
import { DB_ENTRY_PATH, type Manifest, type ManifestEntry, TOP_LEVEL } from "./manifest.ts";
import { DB_COMPANIONS, isSelected, type PlanLine, planRestore, restoreUnits } from "./restore_plan.ts";
import { makeTempDir, removeOnInterrupt, sayOnInterrupt, stopOnInterrupt } from "./interrupt_cleanup.ts";
import { BackgroundFiles } from "../fsutil/background_files.ts";
import { StagingSync } from "./staging_sync.ts";
import { applyMeta, stageEntry } from "./restore_stage.ts";
import { type ConfiguredDatabase, databaseDestination, targetDatabaseConfig } from "./restore_db_path.ts";
import { NEW_DIR_MODE } from "./restore_steps.ts";
import {
  type JournalLeft,
  pendingJournals,
  recoverInterruptedRestore,
  RESTORE_LOCK_ACTIVITY,
  RESTORE_LOCK_SUFFIX,
} from "./restore_journal.ts";
import { commit, completedWithJournal } from "./restore_commit.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { acquireFileLockBeside } from "../fsutil/file_lock.ts";
import { fileHolders } from "../fsutil/file_holders.ts";
import { physicalPath } from "../fsutil/physical_path.ts";

export { RESTORE_LOCK_SUFFIX } from "./restore_journal.ts";

/** Options of {@link restoreArchive}. */
export interface RestoreOptions {
  archive: string;
  target: string;
  dbOnly: boolean;
  dryRun: boolean;
  force: boolean;
  /** The password of an encrypted archive (asked only if it is one). */
  password?: PasswordSource;
  /** Largest Argon2id cost accepted from an encrypted header (scanArchive reads it from these options). */
  kdfCap?: KdfCap;
  /** With dbOnly: the server.yaml whose `database.path` applies (default `<target>/server.yaml`). */
  serverYaml?: string;
  /** Names the .pre-restore directory. */
  now: Date;
}

/** What a restore did (or, with dryRun, would do). */
export interface RestoreReport {
  target: string;
  plan: PlanLine[];
  /** Where replaced files went (absent when nothing was replaced, and on dry runs). */
  preRestoreDir?: string;
  scan: ScanResult;
  dryRun: boolean;
  /** Where the database was (or would be) restored. */
  database: string;
  /** Why the database is not where server.yaml's `database.path` says, when it is not. */
  databaseNote?: string;
  /** With dbOnly: the warnings of the server.yaml read for `database.path` (unknown keys). */
  configWarnings: string[];
  /** Dry run only: a killed restore's journal is in the target, so the plan describes a half state. */
  pendingRollback?: string;
}

/** Where the database goes and what the restore writes and replaces, from the manifest and the target. */
async function planFor(
  target: string,
  manifest: Manifest,
  opts: RestoreOptions,
  configured: ConfiguredDatabase | undefined,
) {
  const db = await databaseDestination(target, manifest, { dbOnly: opts.dbOnly, configured });
  const plan = planRestore(
    manifest.entries,
    await existingPaths(target, manifest.entries, opts, db.rel),
    opts.dbOnly,
    db.rel,
  );
  return { db, plan };
}

/** Restores (or plans restoring) an archive into a target directory. */
export async function restoreArchive(opts: RestoreOptions): Promise<RestoreReport> {
  const target = resolve(opts.target);
  await checkTarget(target);
  // No lock probe on a dry run: probing opens the database, and a dry run must not touch it.
  if (opts.dryRun) {
    const configured = opts.dbOnly ? await targetDatabaseConfig(target, opts.serverYaml) : undefined;
    const scan = await scanArchive(opts.archive, opts);
    const { db, plan } = await planFor(target, scan.manifest, opts, configured);
    // A settled journal (a completed restore's, left unremovable) is only removed: no rollback to tell of.
    const journal = pendingJournals(target)[0];
    const pendingRollback = journal &&
      `${journal}: a restore was interrupted here; the real restore first rolls it back, so this plan ` +
        "describes a half-restored target";
    return {
      target,
      plan,
      scan,
      dryRun: true,
      database: join(target, db.rel),
      databaseNote: db.note,
      configWarnings: configured?.warnings ?? [],
      pendingRollback,
    };
  }
  // Two restores into one target would pick the same aside directory, and the one that fails would
  // roll back into it and remove what the other moved there: one at a time, the second exits 5. The
  // lock lies beside the target, whose parent must exist for that (mkdir -p below would make it anyway).
  await mkdir(dirname(target), { recursive: true, mode: NEW_DIR_MODE }).catch((err) => {
    throw toVigoError(err, dirname(target));
  });
  // Beside the directory itself, so restores through different symbolic links to it take turns too.
  using lock = await acquireFileLockBeside(physicalPath(target), RESTORE_LOCK_SUFFIX, RESTORE_LOCK_ACTIVITY);
  const createdTarget = !(await lstat(target).catch(() => null));
  // A target this restore creates holds nothing but the staging directory until the commit, so an
  // interruption removes it as a failure does (below).
  const forgetTarget = createdTarget ? removeOnInterrupt(target) : () => {};
  await mkdir(target, { recursive: true, mode: NEW_DIR_MODE }).catch((err) => {
    forgetTarget();
    throw toVigoError(err, target);
  });
  // A restore killed mid-commit is rolled back before anything else looks at the target; then
  // leftovers of dead processes go.
  recoverInterruptedRestore(target, lock);
  sweepStaleTemps(target);
  await refuseOtherFilesystems(target, opts.dbOnly);
  const { path: staging, forget } = makeTempDir(target, ".restore-staging-");
  const syncer = new StagingSync(staging);
  const files = new BackgroundFiles();
  const forgetFiles = stopOnInterrupt(() => files.stopNow());
  let dbCheck: BackgroundCheck | undefined;
  let keepStaging = false;
  let report: RestoreReport;
  let problem: string | undefined;
  let journalLeft: { path: string; left: JournalLeft } | undefined;
  let forgetEmptied = () => {};
  let forgetLine = () => {};
  try {
    // After the rollback, which may put back the server.yaml a killed restore had moved aside (read
    // before, the default path sent the database where the server never looks), and before the
    // staging: a server.yaml that does not load must not cost a whole archive's extraction.
    const configured = opts.dbOnly ? await targetDatabaseConfig(target, opts.serverYaml) : undefined;
    const dirs: { path: string; header: TarHeader }[] = [];
    // The manifest is not authenticated, so matching its SHA-256 proves nothing about the database:
    // the staged copy gets its own integrity_check. The database is the first entry after the
    // manifest, so the check runs on a worker while the remaining entries are extracted.
    const onClosed = (path: string) => {
      if (path === DB_ENTRY_PATH) dbCheck = startIntegrityCheck(join(staging, DB_ENTRY_PATH));
    };
    const stage = { syncer, files, staging, dirs, onClosed, made: new Set<string>() };
    const scan = await scanArchive(opts.archive, opts, (entry, header) => {
      if (!isSelected(entry.path, opts.dbOnly)) return Promise.resolve(undefined);
      return Promise.resolve(stageEntry(stage, entry, header));
    });
    await files.flush();
    const [, facts] = await Promise.all([syncer.flush(), dbCheck?.result()]);
    if (facts) requireHealthyDatabase(opts.archive, scan, facts, join(staging, DB_ENTRY_PATH));
    // Deepest first, so a read-only directory does not stop its children being adjusted.
    for (const d of dirs.reverse()) applyMeta(join(staging, d.path), d.header);
    const { db, plan } = await planFor(target, scan.manifest, opts, configured);
    refuseIfBusy(join(target, db.rel), opts.force);
    // From here a signal must not remove the staging directory: a journaled rename may already have
    // moved the old tree aside, and the next run's rollback needs the staged items where it left them.
    forget();
    forgetTarget();
    // A signal that comes during the commit is handled once it has ended (its renames are synchronous):
    // the exit then removes the emptied staging directory and says the restore is complete. It said
    // "temporary files removed" and left the staging directory (found by review).
    const units = restoreUnits(scan.manifest.entries, opts.dbOnly);
    const { preRestoreDir, journal } = await commit(target, staging, units, db.rel, opts.now);
    forgetEmptied = removeOnInterrupt(staging);
    forgetLine = sayOnInterrupt((signal) =>
      `interrupted (${signal}) after the restore committed: ${target} holds the archive's files` +
      (preRestoreDir ? `, the previous ones are kept in ${preRestoreDir}` : "")
    );
    journalLeft = journal;
    const database = join(target, db.rel);
    report = {
      target,
      plan,
      preRestoreDir,
      scan,
      dryRun: false,
      database,
      databaseNote: db.note,
      configWarnings: configured?.warnings ?? [],
    };
  } catch (err) {
    // Nothing may still be writing into the staging directory or the target when they are removed.
    await files.close();
    keepStaging = (err as { journalKept?: boolean }).journalKept === true;
    if (keepStaging) throw err;
    keepStaging = true; // removed here, not again below
    // A target this restore created is removed again, so a failed restore leaves no trace. Either stays
    // the failure's when it cannot be removed, which then also says so.
    throw createdTarget
      ? await removingTree(err, target, "new target directory", "removal by hand")
      : await removingTree(err, staging, "staging directory", `the next restore into ${target}`);
  } finally {
    await files.close();
    forgetFiles();
    dbCheck?.cancel();
    if (!keepStaging) problem = await removeTemporaryTree(staging);
    forget();
    forgetTarget();
    forgetEmptied();
    forgetLine();
  }
  if (journalLeft !== undefined) {
    throw completedWithJournal(target, journalLeft.path, journalLeft.left, staging, problem);
  }
  if (problem !== undefined) {
    // Its name carries this PID: the next restore into the target sweeps it.
    const after = `the restore is complete; the next restore into ${target} removes it`;
    throw new IoError(`${staging}: could not be removed (${problem}); ${after}`, { path: staging });
  }
  return report;
}

/**
 * Refuses, before anything is extracted, a top-level tree of the target that is another filesystem
 * (`db/` a mount of its own): restore stages inside the target and renames into place, which cannot
 * cross filesystems, so such a target failed every time, after the whole extraction, with "crosses a
 * filesystem boundary" and no word on why (found by review).
 */
async function refuseOtherFilesystems(target: string, dbOnly: boolean): Promise<void> {
  const dev = (await stat(target)).dev;
  for (const name of dbOnly ? ["db"] : TOP_LEVEL) {
    const p = join(target, name);
    const st = await lstat(p).catch(() => null);
    if (st && st.dev !== dev) {
      throw new IoError(
        `${p}: on another filesystem than ${target} (a mount point): restore stages inside the target and ` +
          "renames into place, which cannot cross filesystems; nothing was restored",
        { path: p },
      );
    }
  }
}

async function checkTarget(target: string): Promise<void> {
  for (const p of [target, join(target, "db")]) {
    // The target itself may be a symbolic link to a directory (followed); <target>/db may not.
    const st = await (p === target ? stat : lstat)(p).catch(() => null);
    if (st && !st.isDirectory()) {
      throw new BadInputError(`${p}: not a directory (restore only writes inside the target)`);
    }
  }
  if (await stat(target).then(() => true, () => false)) return;
  // A target to be made: a link to nothing, or a file where a directory above it must be, cannot be
  // (mkdir's EEXIST said "already exists", exit 10, and the dry run planned it).
  if (await lstat(target).then(() => true, () => false)) {
    throw new BadInputError(`${target}: a symbolic link to nothing (restore only writes inside the target)`);
  }
  for (let p = dirname(target); p !== dirname(p); p = dirname(p)) {
    const st = await stat(p).catch(() => null);
    if (!st) continue;
    if (!st.isDirectory()) throw new BadInputError(`${p}: not a directory (${target} cannot be made in it)`);
    return;
  }
}

/** Refuses a staged database that fails integrity_check or differs from the manifest's page facts. */
function requireHealthyDatabase(
  archive: string,
  scan: ScanResult,
  facts: DatabaseFacts,
  staged: string,
): void {
  const notRun = checkNotRunError(facts, staged);
  if (notRun) throw notRun;
  if (facts.integrity !== "ok") {
    throw new VerifyError(
      `${archive}: ${DB_ENTRY_PATH} fails integrity_check (${summarizeIntegrity(facts.integrity)}); ` +
        "nothing was restored",
    );
  }
  const db = scan.manifest.database;
  if (facts.pageSize !== db.page_size || facts.pageCount !== db.page_count) {
    throw new VerifyError(`${archive}: ${DB_ENTRY_PATH}'s page size/count differ from the manifest`);
  }
}

function refuseIfBusy(db: string, force: boolean): void {
  if (force || !databaseInUse(db)) return;
  // "Stop the server" misled when the server was stopped and the holder was a replicator started by
  // hand, a create on a timer or a sqlite3 shell: name whoever /proc shows.
  const holders = fileHolders(db).map((h) => `PID ${h.pid} ${h.command}`);
  throw new BusyError(
    holders.length > 0
      ? `${db}: database is in use by another process (${holders.join(", ")}); stop it first (or use --force)`
      : `${db}: database is in use by another process; stop the server first (or use --force)`,
  );
}

/**
 * `lstat` of `path`, or null when nothing is there. Any other failure (EACCES on a target the user cannot
 * search) is the error: a plan that took it for absence promised a restore that then failed.
 */
function lstatIfThere(path: string) {
  return lstat(path).catch((err) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw toVigoError(err, path);
  });
}

/** The target's current paths that a restore of these entries could touch. */
async function existingPaths(
  target: string,
  entries: ManifestEntry[],
  opts: { dbOnly: boolean },
  dbRel: string,
): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    const st = await lstatIfThere(join(target, rel));
    if (!st) return;
    if (!st.isDirectory()) {
      out.add(rel);
      return;
    }
    out.add(`${rel}/`);
    for (const name of (await readdir(join(target, rel))).sort()) await walk(`${rel}/${name}`);
  };
  for (const unit of restoreUnits(entries, opts.dbOnly)) {
    if (unit === DB_ENTRY_PATH) {
      if (await lstatIfThere(join(target, "db"))) out.add("db/");
      for (const suffix of ["", ...DB_COMPANIONS]) {
        if (await lstatIfThere(join(target, dbRel + suffix))) out.add(dbRel + suffix);
      }
    } else await walk(unit);
  }
  return out;
}
