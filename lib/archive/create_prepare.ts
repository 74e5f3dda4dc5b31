/**
 * What `backup create` does before it pins the database (archive_writer.ts): refuse a configuration it
 * cannot archive, roll back a killed restore, sweep dead creates' leftovers, and note the identities of
 * the paths a restore replaces, compared again once everything is read.
 */
import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ServerConfig } from "../config/types.ts";
import { requireSqlite } from "../config/server_yaml.ts";
import { sweepStaleTemps, sweepSystemTemps } from "../fsutil/stale_temps.ts";
import { recoverInterruptedRestoreLocking } from "./restore_journal.ts";
import { pathIdentities } from "./source_roots.ts";

/** The directory of the database's file (a symbolic link followed: where SQLite puts its journal). */
function databaseDir(path: string): string {
  try {
    return dirname(realpathSync(path));
  } catch {
    return dirname(path); // the pin reports a missing database
  }
}

/** The server-tree directories an archive holds, besides the database and server.yaml. */
export const TREES = ["stacks", "secrets", "tls"] as const;

/**
 * Refuses what cannot be archived, rolls back a killed restore and sweeps dead creates' leftovers; gives
 * where a database copy goes (beside the database with `copyBesideDatabase`, else `workDir`) and the paths
 * a restore replaces, with their identities.
 */
export async function prepareCreate(
  cfg: ServerConfig,
  workDir: string,
  copyBesideDatabase = false,
): Promise<{ copyDir: string; restorable: string[]; identities: string[] }> {
  requireSqlite(cfg);
  // A restore killed mid-commit left the server root half old, half new: roll it back before
  // archiving it. Then leftovers of dead creates in the work directory go.
  await recoverInterruptedRestoreLocking(cfg.serverRoot);
  sweepStaleTemps(workDir);
  // And a dead encrypted create's copy of the database beside it (copyBesideDatabase), by any create.
  const dbDir = databaseDir(cfg.database.path);
  if (dbDir !== workDir) sweepStaleTemps(dbDir);
  sweepSystemTemps();
  // A restore can pass its busy probe just before the pin and swap the trees just after it (or be
  // forced past a pin): the archive would then hold the old database with the new stacks/. Taken
  // before the pin and compared once everything is read, so a restore anywhere in between is seen.
  const restorable = [cfg.database.path, ...TREES.map((t) => join(cfg.serverRoot, t)), cfg.serverYamlPath];
  return {
    copyDir: copyBesideDatabase ? dbDir : workDir,
    restorable,
    identities: pathIdentities(restorable),
  };
}
