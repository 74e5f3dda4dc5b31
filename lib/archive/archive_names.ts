/** Names of archive files: `vigo-backup-<UTC time>.tar.gz`, as the spec's example shows. */

const NAME_RE = /^vigo-backup-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\.tar\.gz$/;

/** The default archive file name for a moment, e.g. `vigo-backup-2026-03-13T14:30:00Z.tar.gz`. */
export function archiveFileName(at: Date): string {
  return `vigo-backup-${at.toISOString().replace(/\.\d{3}Z$/, "Z")}.tar.gz`;
}

/** The time in a default archive name, or null for other names. */
export function timeFromArchiveName(name: string): Date | null {
  const m = NAME_RE.exec(name);
  return m ? new Date(m[1]) : null;
}

/** Name of the directory restore moves replaced files into, e.g. `.pre-restore-2026-03-13T14:30:00Z`. */
export function preRestoreDirName(at: Date): string {
  return `.pre-restore-${at.toISOString().replace(/\.\d{3}Z$/, "Z")}`;
}
