/**
 * Where `backup restore` puts the database. The archive always holds it as `db/vigo.db`, but a
 * deployment's `database.path` may point elsewhere; the database goes where the server.yaml in
 * effect after the restore expects it, as long as that is inside the target (restore never writes
 * outside it). Otherwise it goes to `<target>/db/vigo.db` and the caller is told why.
 *
 * The server.yaml in effect: on a full restore, the archived one — whose `database.path` is the
 * manifest's `source.database`, taken relative to `source.server_root`, so a restore into another
 * directory (a drill) keeps the layout; with `--db-only`, the target's own server.yaml (the archived
 * one is not restored), resolved against the target.
 */
import { existsSync } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { BadInputError } from "../errors.ts";
import { DB_ENTRY_PATH, type Manifest, TOP_LEVEL } from "./manifest.ts";
import { DB_COMPANIONS } from "./restore_plan.ts";

/** Where the database will be restored. */
export interface DatabaseDestination {
  /** Path relative to the target, `/`-separated. */
  rel: string;
  /** Set when `database.path` could not be honoured: says where it points and where the database went. */
  note?: string;
}

/**
 * Decides where the database goes: for `--db-only` by `configured` ({@link targetDatabaseConfig}; none
 * means the default layout), else by the archived server.yaml.
 */
export async function databaseDestination(
  target: string,
  manifest: Manifest,
  opts: { dbOnly: boolean; configured?: ConfiguredDatabase },
): Promise<DatabaseDestination> {
  const wanted = opts.dbOnly
    ? opts.configured
    : { path: manifest.source.database, root: manifest.source.server_root, from: "the archived server.yaml" };
  if (!wanted) return { rel: DB_ENTRY_PATH };
  const rel = relative(wanted.root, wanted.path).split(sep).join("/");
  if (rel === DB_ENTRY_PATH) return { rel };
  const problem = placementProblem(rel, manifest, opts.dbOnly);
  if (problem) {
    return {
      rel: DB_ENTRY_PATH,
      note: `database.path in ${wanted.from} is ${wanted.path}, ${problem}; the database is restored ` +
        `to ${join(target, DB_ENTRY_PATH)} instead (move it there with the server stopped)`,
    };
  }
  await requireRealDirectories(target, rel);
  if (!(await isDatabaseOrAbsent(join(target, rel)))) {
    return {
      rel: DB_ENTRY_PATH,
      note: `database.path in ${wanted.from} is ${wanted.path}, which holds a file that is not a SQLite ` +
        `database; the database is restored to ${join(target, DB_ENTRY_PATH)} instead`,
    };
  }
  return { rel };
}

/** The `database.path` a `--db-only` restore honours, and where it was read. */
export interface ConfiguredDatabase {
  path: string;
  root: string;
  from: string;
  /** The server.yaml's own warnings (unknown keys), for the caller to print. */
  warnings: string[];
}

/**
 * The `database.path` of `serverYaml` (given) or of `<target>/server.yaml` (when there is one), read
 * before anything is staged. A server.yaml that is there but does not load is exit 3 or 9 as anywhere
 * else: falling back to db/vigo.db put the database where the server does not look, with exit 0.
 */
export async function targetDatabaseConfig(
  target: string,
  serverYaml: string | undefined,
): Promise<ConfiguredDatabase | undefined> {
  const file = serverYaml ?? join(target, "server.yaml");
  if (serverYaml === undefined && !existsSync(file)) return undefined;
  const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
  const cfg = await loadServerConfig(file, target, { secrets: "skip" });
  // One that names PostgreSQL has no database file for --db-only to replace.
  requireSqlite(cfg);
  return { path: cfg.database.path, root: target, from: file, warnings: cfg.warnings };
}

/** Why the database cannot go to `rel` inside the target, or undefined when it can. */
function placementProblem(rel: string, manifest: Manifest, dbOnly: boolean): string | undefined {
  if (rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel)) return "outside the target";
  const parts = rel.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..") || parts[0].startsWith(".")) {
    return "not a plain path inside the target";
  }
  // The archive's own manifest names this path on a full restore, and nothing vouches for it: it must
  // never land the database on a key, a certificate or a stack (secrets/.master.key, tls/ca.pem).
  if (parts[0] !== "db" && (TOP_LEVEL as readonly string[]).includes(parts[0])) {
    return `inside ${parts[0]}, which never holds the database`;
  }
  if (DB_COMPANIONS.some((c) => rel.endsWith(c))) return "named like a database's -wal/-shm/-journal file";
  // A path inside a tree the restore replaces whole would be swapped out again by that tree.
  const trees = new Set(manifest.entries.map((e) => e.path.split("/")[0]).filter((t) => t !== "db"));
  if (!dbOnly && trees.has(parts[0])) return `inside ${parts[0]}, which the archive replaces`;
  return undefined;
}

/** Refuses a destination below a symlink or a file: following it could write outside the target. */
async function requireRealDirectories(target: string, rel: string): Promise<void> {
  const parts = rel.split("/").slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = join(target, ...parts.slice(0, i));
    const st = await lstat(dir).catch(() => null);
    if (!st) return;
    if (!st.isDirectory()) {
      throw new BadInputError(`${dir}: not a directory (restore only writes inside the target)`);
    }
  }
}

/** Whether `path` is absent or a regular file starting with SQLite's header (so replacing it loses nothing else). */
async function isDatabaseOrAbsent(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (!st) return true;
  if (!st.isFile()) return false;
  if (st.size === 0) return true;
  const fh = await open(path, "r").catch(() => null);
  if (!fh) return false;
  try {
    const head = new Uint8Array(16);
    await fh.read(head, 0, 16, 0);
    return new TextDecoder().decode(head) === "SQLite format 3\0";
  } finally {
    await fh.close();
  }
}
