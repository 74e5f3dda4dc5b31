/**
 * The one archive shape `verify` and `restore` accept, checked on the manifest before any entry is
 * read (the tar entries must then match the manifest exactly, archive_scan.ts): the database is
 * `db/vigo.db`, a regular file, alone in `db/` (a `-wal`, `-shm` or `-journal` next to it would be
 * replayed into the restored database by the first connection, bypassing its SHA-256); only
 * directories end in `/`; no path is both a file and a directory, and nothing lies below a file; and
 * every symbolic link, resolved as the kernel would resolve it in the restored tree (through the
 * archive's other links), stays inside the target.
 *
 * Each check is linear in the number of entries (link resolution is bounded per link), so a manifest
 * of 100,000 links costs milliseconds, not minutes.
 */
import { BadInputError } from "../errors.ts";
import { DB_ENTRY_PATH, type Manifest, type ManifestEntry } from "./manifest.ts";

/** Linux's limit on links followed while resolving one path (MAXSYMLINKS); beyond it open(2) fails. */
const MAX_LINK_HOPS = 40;

/** Throws {@link BadInputError} naming the archive and the first entry that breaks the shape. */
export function checkArchiveShape(archive: string, manifest: Manifest): void {
  const bad = (what: string) => new BadInputError(`${archive}: ${what}`);
  // Each entry's path on disk (without a directory's "/"): `stacks/a` and `stacks/a/` are one place.
  const places = new Set<string>();
  for (const e of manifest.entries) {
    if ((e.type === "dir") !== e.path.endsWith("/")) {
      throw bad(`entry ${e.path} is a ${e.type}, but only directory paths end in "/"`);
    }
    const place = e.type === "dir" ? e.path.slice(0, -1) : e.path;
    if (places.has(place)) throw bad(`entries ${place} and ${place}/ are one path, a file and a directory`);
    places.add(place);
    if (e.path.startsWith("db/") && e.path !== "db/" && e.path !== DB_ENTRY_PATH) {
      throw bad(`entry ${e.path}: db/ holds only ${DB_ENTRY_PATH} (no -wal, -shm or -journal files)`);
    }
    if (e.path === DB_ENTRY_PATH && e.type !== "file") {
      throw bad(`${DB_ENTRY_PATH} is a ${e.type}; the database must be a regular file`);
    }
  }
  checkNothingUnderAFile(archive, manifest.entries);
  checkLinksStayInside(archive, manifest.entries);
}

/**
 * No entry may lie below a file: restore could not create it there. (Below a symbolic link is refused
 * when the manifest is parsed, manifest.ts.) Each entry's ancestors are looked up in a set.
 */
function checkNothingUnderAFile(archive: string, entries: ManifestEntry[]): void {
  const files = new Set(entries.filter((e) => e.type === "file").map((e) => e.path));
  for (const e of files.size > 0 ? entries : []) {
    for (let slash = e.path.indexOf("/"); slash > 0; slash = e.path.indexOf("/", slash + 1)) {
      const above = e.path.slice(0, slash);
      if (files.has(above)) {
        throw new BadInputError(`${archive}: entry ${e.path} lies under the file ${above}`);
      }
    }
  }
}

/** Resolves every link through the others, as path resolution in the restored tree would. */
function checkLinksStayInside(archive: string, entries: ManifestEntry[]): void {
  const links = new Map<string, string>();
  const known = new Set<string>([""]);
  for (const e of entries) {
    const path = e.path.replace(/\/$/, "");
    known.add(path);
    if (e.type === "symlink") links.set(path, e.target ?? "");
  }
  for (const [path, target] of links) {
    const parent = path.split("/").slice(0, -1);
    const outcome = resolve(parent, target, links, known, { hops: 0 });
    if (outcome !== "inside" && outcome !== "loop") {
      throw new BadInputError(
        `${archive}: symbolic link ${path} -> ${JSON.stringify(target)} ${outcome}`,
      );
    }
  }
}

type Outcome = "inside" | "loop" | string;

/**
 * Walks `target` from the directory `dir` (components below the target root). Returns "inside",
 * "loop" (the kernel gives up with ELOOP, so nothing is reached), or why the walk leaves the tree.
 * `dir` is modified in place to the resolved location.
 */
function resolve(
  dir: string[],
  target: string,
  links: Map<string, string>,
  known: Set<string>,
  budget: { hops: number },
): Outcome {
  if (target.startsWith("/")) return "is absolute";
  let unknownAt: string | undefined;
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      // `..` after a name the archive does not hold would depend on what the target has there
      // (perhaps a link of its own), which the archive cannot vouch for.
      if (unknownAt !== undefined) return `climbs out of ${unknownAt}, which the archive does not hold`;
      if (dir.length === 0) return "leaves the target";
      dir.pop();
      continue;
    }
    if (unknownAt !== undefined) continue;
    dir.push(part);
    const here = dir.join("/");
    const next = links.get(here);
    if (next !== undefined) {
      if (++budget.hops > MAX_LINK_HOPS) return "loop";
      dir.pop();
      const outcome = resolve(dir, next, links, known, budget);
      if (outcome !== "inside") return outcome;
    } else if (!known.has(here)) unknownAt = here;
  }
  return "inside";
}
