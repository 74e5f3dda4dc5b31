/**
 * What a restore will do to a target, decided from the manifest and the target's current contents
 * alone (no I/O), so `--dry-run` and the real restore agree by construction.
 *
 * A full restore replaces each top-level item the archive holds (stacks/, secrets/, tls/,
 * server.yaml) as a whole, so files the archive does not have are moved aside rather than left
 * mixed in with the restored tree; the database is replaced together with its -wal/-shm/-journal
 * files, because a stale WAL next to a restored database would be replayed into it.
 */
import { DB_ENTRY_PATH, type ManifestEntry } from "./manifest.ts";

/** Files that belong to the database file and are replaced with it. */
export const DB_COMPANIONS = ["-wal", "-shm", "-journal"] as const;

/** One line of the plan. */
export interface PlanLine {
  /** create: new path; replace: existing path overwritten; move-aside: existing path not in the archive. */
  action: "create" | "replace" | "move-aside";
  /** Path relative to the target, `/`-separated; directories end in `/`. */
  path: string;
}

/** Whether an archive entry is restored under the chosen mode. */
export function isSelected(path: string, dbOnly: boolean): boolean {
  return !dbOnly || path === DB_ENTRY_PATH || path === "db/";
}

/** The top-level units a restore swaps into place: tree names, `server.yaml`, and the database. */
export function restoreUnits(entries: ManifestEntry[], dbOnly: boolean): string[] {
  const units = new Set<string>();
  for (const e of entries) {
    if (!isSelected(e.path, dbOnly)) continue;
    const top = e.path.split("/")[0];
    if (top === "db") {
      if (e.path === DB_ENTRY_PATH) units.add(DB_ENTRY_PATH);
    } else units.add(top);
  }
  return [...units];
}

/**
 * Plans a restore. `existing` holds the target's current paths (relative, directories ending in `/`)
 * below the units the archive replaces, plus the database and its companions. `dbPath` is where the
 * database goes, relative to the target (server.yaml's `database.path` may differ from db/vigo.db).
 */
export function planRestore(
  entries: ManifestEntry[],
  existing: Set<string>,
  dbOnly: boolean,
  dbPath: string = DB_ENTRY_PATH,
): PlanLine[] {
  const lines: PlanLine[] = [];
  const restored = new Set<string>();
  for (const e of entries) {
    if (!isSelected(e.path, dbOnly)) continue;
    const path = e.path === DB_ENTRY_PATH ? dbPath : e.path;
    restored.add(path);
    // An existing db/ directory is kept (it may hold other files), so it is neither created nor replaced;
    // nor is it created when the database goes elsewhere.
    if (e.path === "db/" && (existing.has("db/") || dbPath !== DB_ENTRY_PATH)) continue;
    lines.push({ action: existing.has(path) ? "replace" : "create", path });
  }
  const units = restoreUnits(entries, dbOnly).map((u) => (u === DB_ENTRY_PATH ? dbPath : u));
  const within = (p: string) =>
    units.some((u) => p === u || p === `${u}/` || p.startsWith(`${u}/`)) ||
    DB_COMPANIONS.some((c) => p === `${dbPath}${c}`);
  for (const p of [...existing].sort()) {
    if (!restored.has(p) && within(p)) lines.push({ action: "move-aside", path: p });
  }
  return lines;
}
