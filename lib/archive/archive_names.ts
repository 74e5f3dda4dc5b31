/**
 * Names of archive files: `vigo-backup-<UTC time>.tar.gz`. The spec's form has colons
 * (`2026-03-13T14:30:00Z`), which GNU tar reads as `host:path` unless given `--force-local`; the
 * `compact` form (`20260313T143000Z`) is the same instant without them. Both are recognised everywhere.
 */

/** How the time in a default archive name is written. */
export type NameFormat = "rfc3339" | "compact";
/** Every {@link NameFormat}, the default first. */
export const NAME_FORMATS: readonly NameFormat[] = ["rfc3339", "compact"];

const NAME_RE = /^vigo-backup-(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})Z\.tar\.gz$/;

/**
 * The default archive file name for a moment, e.g. `vigo-backup-2026-03-13T14:30:00Z.tar.gz`, or
 * `vigo-backup-20260313T143000Z.tar.gz` in the compact format.
 */
export function archiveFileName(at: Date, format: NameFormat = "rfc3339"): string {
  const iso = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `vigo-backup-${format === "compact" ? iso.replace(/[-:]/g, "") : iso}.tar.gz`;
}

/** The time in a default archive name (either format), or null for other names. */
export function timeFromArchiveName(name: string): Date | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  // Both separators or neither: a half-compact name is not one we write.
  const compact = !name.includes(":");
  if (compact === name.slice(12, 22).includes("-")) return null;
  const t = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(t.getTime()) ? null : t;
}

/** Name of the directory restore moves replaced files into, e.g. `.pre-restore-2026-03-13T14:30:00Z`. */
export function preRestoreDirName(at: Date): string {
  return `.pre-restore-${at.toISOString().replace(/\.\d{3}Z$/, "Z")}`;
}
