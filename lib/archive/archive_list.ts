/** The archives in a snapshots directory, newest first, as `backup list` shows them. */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { toVigoError } from "../errors.ts";
import { isNotADirectory, notADirectory } from "../fsutil/own_directory.ts";
import { detectArchiveKind, readHead } from "./archive_kind.ts";
import { timeFromArchiveName } from "./archive_names.ts";

/** One archive in the listing. */
export interface ArchiveListing {
  name: string;
  path: string;
  /** ISO 8601 UTC: from the file name when it is a default name, else the file's mtime. */
  time: string;
  size: number;
  /**
   * Null when the first bytes are neither gzip nor an encrypted archive's header: a damaged archive (an
   * emptied or overwritten file) or someone else's file with an archive's name. Listed all the same: a
   * drill skipped a damaged newest archive and passed on an older one (exit 0), and status counted none.
   */
  encrypted: boolean | null;
  /** A `.sha256` sidecar is present. */
  sidecar: boolean;
}

/** Lists archives (`*.tar.gz`, plain or encrypted) in `dir`; an absent directory lists nothing. */
export async function listArchives(dir: string): Promise<ArchiveListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    if (isNotADirectory(err)) throw notADirectory(dir, "no archives can be listed there", err);
    throw toVigoError(err, dir);
  }
  const set = new Set(names);
  const out: ArchiveListing[] = [];
  for (const name of names) {
    if (name.startsWith(".") || !name.endsWith(".tar.gz")) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => null);
    if (!st?.isFile()) continue;
    const kind = await detectArchiveKind(await readHead(path));
    const time = timeFromArchiveName(name) ?? st.mtime;
    out.push({
      name,
      path,
      time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
      size: st.size,
      encrypted: kind === "unknown" ? null : kind === "encrypted",
      sidecar: set.has(`${name}.sha256`),
    });
  }
  return out.sort((a, b) => b.time.localeCompare(a.time) || b.name.localeCompare(a.name));
}
