/** `backup list --remote`: the archives under `archives/` on the backend, newest first. */
import { ARCHIVES_PREFIX, listRemoteArchives } from "../archive/remote_archives.ts";
import { futureMark } from "../archive/future_dated.ts";
import { objectUrl, spareTempsInListings, tempsRemovedByListing } from "../backend/backend.ts";
import { loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import { credentialSources } from "./credentials_option.ts";
import { printJson } from "./json_output.ts";
import { printLine } from "./output.ts";

/** Options of {@link listRemote} (the `backup list` flags that apply). */
export interface RemoteListOptions {
  url?: string;
  serverYaml: string;
  serverRoot: string;
  json?: boolean;
  credentialsFile?: string;
}

/** Prints the remote archives as a table, or as JSON with `json`. */
export async function listRemote(opts: RemoteListOptions): Promise<void> {
  const creds = await credentialSources(opts.credentialsFile);
  const cfg = await loadBackupSettings(opts.serverYaml, opts.serverRoot, opts.url === undefined, creds);
  const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml, creds);
  // A listing changes nothing on the backend: the dead runs' temporary files are left to a prune.
  spareTempsInListings(backend);
  try {
    const rows = await listRemoteArchives(backend);
    if (opts.json) {
      printJson(rows.map((r) => ({ ...r, url: objectUrl(backend, r.key) })));
      return;
    }
    const temps = tempsRemovedByListing(backend).length;
    if (rows.length === 0) {
      printLine(`no archives in ${objectUrl(backend, ARCHIVES_PREFIX)}`);
      if (temps > 0) printLine(tempsNote(temps));
      return;
    }
    const width = Math.max(4, ...rows.map((r) => r.name.length));
    printLine(
      `${"NAME".padEnd(width)}  ${"TIME (UTC)".padEnd(20)}  ${"SIZE".padStart(12)}  ENCRYPTED  SIDECAR`,
    );
    const now = new Date();
    for (const r of rows) {
      const enc = r.encrypted === null ? "?" : r.encrypted ? "yes" : "no";
      printLine(
        `${r.name.padEnd(width)}  ${r.time.padEnd(20)}  ${String(r.size).padStart(12)}  ${enc.padEnd(9)}  ${
          r.sidecar ? "yes" : "MISSING"
        }${futureMark(r.time, now)}`,
      );
    }
    if (temps > 0) printLine(tempsNote(temps));
  } finally {
    await backend.close();
  }
}

/** The line under a listing that found `n` temporary files of killed runs and kept them. */
function tempsNote(n: number): string {
  return `${n} temporary file(s) of killed runs (removed by the next backup prune --remote)`;
}
