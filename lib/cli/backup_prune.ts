/**
 * `vigocli backup prune [--remote] [--keep N] [--dry-run]`: retention for archives, on the backend
 * (`--remote`: under archives/ at backup.url or --url) or in paths.snapshots. `--keep N` keeps the N
 * newest; otherwise archives older than `--older-than`, else server.yaml's `backup.retention`
 * (default 720h), are removed — never the newest one. Sidecars go with their archives.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { say } from "./output.ts";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { RetentionPolicy } from "../archive/archive_retention.ts";
import { objectUrl } from "../backend/backend.ts";
import { DurationSyntaxError, parseDuration } from "../config/duration.ts";
import { toVigoError, UsageError } from "../errors.ts";
import { archiveUrlOption, loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";

interface Line {
  name: string;
  time: string;
  size: number;
  action: "keep" | "delete";
  reason: string;
}

function parseKeep(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new UsageError(`--keep ${text}: expected a whole number ≥ 1`);
  return n;
}

function parseAge(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw new UsageError(`--older-than ${text}: ${err.message}`);
    throw err;
  }
  // A cutoff now or in the future would delete every archive but the newest.
  if (!(ms > 0)) throw new UsageError(`--older-than ${text}: must be greater than zero`);
  return ms;
}

/** `prune`: apply retention to archives */
export function backupPruneCommand(): Command {
  return new Command("prune")
    .description(
      "delete old archives (and their sidecars): --keep N newest, else older than --older-than or " +
        "backup.retention (default 720h), always keeping the newest; --remote for the backend's archives/",
    )
    .addOption(new Option("--remote", "prune archives/ on the backend (backup.url or --url)"))
    .addOption(archiveUrlOption())
    .addOption(new Option("--keep <n>", "keep the N newest archives, delete the rest").argParser(parseKeep))
    .addOption(
      new Option("--older-than <duration>", "delete archives older than this (e.g. 720h)").argParser(
        parseAge,
      ),
    )
    .addOption(new Option("--dry-run", "show what would be deleted without deleting"))
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { listArchives } = await import("../archive/archive_list.ts");
      const { planRetention } = await import("../archive/archive_retention.ts");
      const { ARCHIVES_PREFIX, pruneRemoteArchives } = await import("../archive/remote_archives.ts");
      const { BACKUP_DEFAULTS } = await import("../config/server_yaml_parse.ts");
      const remote = Boolean(opts.remote || opts.url);
      const cfg = await loadBackupSettings(opts.serverYaml, opts.serverRoot, !(remote && opts.url));
      const policy: RetentionPolicy = {
        keep: opts.keep,
        maxAgeMs: opts.olderThan ?? cfg?.backup?.retentionMs ?? BACKUP_DEFAULTS.retentionMs,
        now: new Date(),
      };
      const dryRun = Boolean(opts.dryRun);
      let lines: Line[];
      let where: string;
      if (remote) {
        const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml);
        where = objectUrl(backend, ARCHIVES_PREFIX);
        try {
          lines = (await pruneRemoteArchives(backend, policy, dryRun)).map((l) => ({
            name: l.archive.name,
            time: l.archive.time,
            size: l.archive.size,
            action: l.action,
            reason: l.reason,
          }));
        } finally {
          await backend.close();
        }
      } else {
        where = cfg!.paths.snapshots;
        const local = await listArchives(where);
        const plan = planRetention(local.map((a) => ({ name: a.name, time: new Date(a.time), a })), policy);
        lines = [];
        for (const d of plan) {
          if (d.action === "delete" && !dryRun) {
            for (const p of [d.archive.a.path, `${d.archive.a.path}.sha256`]) {
              await rm(p, { force: true }).catch((err) => {
                throw toVigoError(err, p);
              });
            }
          }
          lines.push({
            name: d.archive.name,
            time: d.archive.a.time,
            size: d.archive.a.size,
            action: d.action,
            reason: d.reason,
          });
        }
        // A prune killed between an archive and its sidecar left the sidecar alone: finish that. A
        // create killed outright left its lock file, which no later create of another name removes.
        if (!dryRun) {
          await removeOrphanSidecars(where);
          const { removeStaleLocks } = await import("../fsutil/file_lock.ts");
          const { CREATE_LOCK_SUFFIX } = await import("../archive/own_files.ts");
          await removeStaleLocks(where, CREATE_LOCK_SUFFIX);
        }
      }
      const deleted = lines.filter((l) => l.action === "delete");
      if (opts.json) {
        printJson({ where, dry_run: dryRun, archives: lines });
        return;
      }
      for (const l of lines) say(`${l.action.padEnd(6)}  ${l.name}  (${l.reason})`);
      const verb = dryRun ? "would delete" : "deleted";
      say(
        `${where}: ${verb} ${deleted.length} of ${lines.length} archive(s)${
          dryRun ? "; nothing was deleted" : ""
        }`,
      );
    }) as unknown as Command;
}

/**
 * Removes `NAME.tar.gz.sha256` files whose `NAME.tar.gz` is gone. Only those older than a minute: a
 * create renames its sidecar in just before its archive, and that moment must not be mistaken for one.
 */
async function removeOrphanSidecars(dir: string): Promise<void> {
  const { lstat, readdir } = await import("node:fs/promises");
  const names = new Set(await readdir(dir).catch(() => [] as string[]));
  for (const n of names) {
    if (!n.endsWith(".tar.gz.sha256") || names.has(n.slice(0, -".sha256".length))) continue;
    const st = await lstat(join(dir, n)).catch(() => null);
    if (!st?.isFile() || Date.now() - st.mtimeMs < 60_000) continue;
    await rm(join(dir, n), { force: true }).catch((err) => {
      throw toVigoError(err, join(dir, n));
    });
  }
}
