/**
 * `backup create --dry-run`: what the archive would hold, printed per top-level part, and where it
 * would go. Writes nothing: no output directory, no database copy, no temporary or lock files, no
 * connection to a backend (the URL is only named).
 */
import { basename } from "node:path";
import type { ServerConfig } from "../config/types.ts";
import { archiveFileName, type NameFormat } from "../archive/archive_names.ts";
import { previewArchive } from "../archive/archive_preview.ts";
import { isBackendUrl } from "./archive_backend.ts";
import { resolveOutPath } from "./backup_create.ts";
import { printJson } from "./json_output.ts";
import { printLine, warn } from "./output.ts";

/** Flags of `create` that matter to a dry run. */
export interface DryRunFlags {
  nameFormat: NameFormat;
  upload?: boolean;
  encrypt?: boolean;
  excludeMasterKey?: boolean;
  allowMissingMasterKey?: boolean;
  json?: boolean;
  now: Date;
}

/** Prints the dry run of `backup create [OUT]` for `cfg`. */
export async function printCreateDryRun(
  cfg: ServerConfig,
  out: string | undefined,
  f: DryRunFlags,
): Promise<void> {
  const name = archiveFileName(f.now, f.nameFormat);
  const remoteOnly = out !== undefined && isBackendUrl(out);
  const path = remoteOnly ? null : await resolveOutPath(out, cfg.paths.snapshots, name, true);
  // The upload is named as the local file is, as create names it.
  const remoteName = path ? basename(path) : name;
  const remote = remoteOnly
    ? `${out.replace(/\/+$/, "")}/archives/${remoteName}`
    : f.upload
    ? `${cfg.backup?.url ? cfg.backup.url.replace(/\/+$/, "") : "<backup.url>"}/archives/${remoteName}`
    : null;
  const p = previewArchive(cfg, { ...f, output: path ?? undefined });
  for (const w of p.warnings) warn(w);
  if (f.json) {
    printJson({
      dry_run: true,
      path,
      upload: remote,
      encrypted: Boolean(f.encrypt),
      server_root: cfg.serverRoot,
      database: {
        source: p.database.source,
        path: p.database.path,
        page_size: p.database.pageSize,
        page_count: p.database.pageCount,
        bytes: p.database.bytes,
      },
      parts: p.parts,
      total_files: p.totalFiles,
      total_bytes: p.totalBytes,
    });
    return;
  }
  printLine(`dry run: would archive ${cfg.serverRoot} into ${[path, remote].filter(Boolean).join(" and ")}`);
  const d = p.database;
  printLine(
    `  ${d.path.padEnd(12)} ${d.pageCount} pages × ${d.pageSize} bytes = ${d.bytes} bytes (${d.source})`,
  );
  for (const part of p.parts) {
    const extra = [part.dirs ? `${part.dirs} dirs` : "", part.symlinks ? `${part.symlinks} symlinks` : ""]
      .filter(Boolean).join(", ");
    printLine(
      `  ${part.path.padEnd(12)} ${part.files} files, ${part.bytes} bytes${extra ? ` (${extra})` : ""}`,
    );
  }
  printLine(
    `  ${
      "total".padEnd(12)
    } ${p.totalFiles} files, ${p.totalBytes} bytes before compression; nothing was written`,
  );
}
