/**
 * `vigocli backup prune [--remote] [--keep N] [--dry-run]`: retention for archives, on the backend
 * (`--remote`: under archives/ at backup.url or --url) or in paths.snapshots. `--keep N` keeps the N
 * newest; otherwise archives older than `--older-than`, else server.yaml's `backup.retention`
 * (default 720h), are removed — never the newest one. Sidecars go with their archives. Locally it also
 * removes what killed runs left in the directory (temporary files, lock files, lone sidecars) and lists
 * them as leftovers; with --remote, so are the sidecars whose archive is gone that it deletes (a dry run:
 * would delete) and, on a file:// or sftp:// backend, the dead runs' temporary files its listing removes.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { say } from "./output.ts";
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { RetentionPolicy } from "../archive/archive_retention.ts";
import { objectUrl, tempsRemovedByListing } from "../backend/backend.ts";
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

/** A file of a killed run that a prune removed beside the archives. */
interface Leftover {
  name: string;
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
      // null for a local dry run, which removes none. A backend's listing removes dead runs' temporary
      // files in a dry run too (never archives, and nothing could finish them): those are listed, and so
      // are the lone sidecars a remote dry run would delete (counted apart: those it did not).
      let leftovers: Leftover[] | null = null;
      let wouldRemove = 0;
      if (remote) {
        const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml);
        where = objectUrl(backend, ARCHIVES_PREFIX);
        try {
          let orphans: string[] = [];
          const onOrphanSidecars = (keys: string[]) => void (orphans = keys);
          lines = (await pruneRemoteArchives(backend, policy, dryRun, { onOrphanSidecars })).map((l) => ({
            name: l.archive.name,
            time: l.archive.time,
            size: l.archive.size,
            action: l.action,
            reason: l.reason,
          }));
          leftovers = [
            ...leftoversUnder(orphans, ARCHIVES_PREFIX, ORPHAN_SIDECAR),
            ...leftoversUnder(
              tempsRemovedByListing(backend),
              ARCHIVES_PREFIX,
              "temporary file of a killed run",
            ),
          ];
          if (dryRun) wouldRemove = orphans.length;
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
        if (!dryRun) leftovers = await removeLeftovers(where);
      }
      const deleted = lines.filter((l) => l.action === "delete");
      if (opts.json) {
        printJson({ where, dry_run: dryRun, archives: lines, leftovers });
        return;
      }
      for (const l of lines) say(`${l.action.padEnd(6)}  ${l.name}  (${l.reason})`);
      for (const l of leftovers ?? []) say(`delete  ${l.name}  (${l.reason})`);
      const removed = (leftovers?.length ?? 0) - wouldRemove;
      say(`${where}: ${pruneSummary(dryRun, deleted.length, lines.length, removed, wouldRemove)}`);
    }) as unknown as Command;
}

/** Why a sidecar is a leftover, locally and remotely. */
const ORPHAN_SIDECAR = "sidecar whose archive is gone";

/**
 * The last line of a prune: what it deleted (or would), and the leftovers of killed runs it removed
 * (`removed`), which a remote dry run's listing removes too, so "nothing was deleted" is said only when
 * true, or would remove (`wouldRemove`: a remote dry run's lone sidecars).
 */
function pruneSummary(
  dryRun: boolean,
  deleted: number,
  archives: number,
  removed: number,
  wouldRemove: number,
): string {
  const files = (n: number) => `${n} leftover file(s) of killed runs`;
  const and = (n: number) => n > 0 ? ` and ${files(n)}` : "";
  if (!dryRun) return `deleted ${deleted} of ${archives} archive(s)${and(removed)}`;
  return `would delete ${deleted} of ${archives} archive(s)${and(wouldRemove)}; ` +
    (removed > 0 ? `no archive was deleted; the listing removed ${files(removed)}` : "nothing was deleted");
}

/**
 * The leftovers among `keys` under `prefix`, named relative to it as a local prune names its own
 * relative to paths.snapshots.
 */
function leftoversUnder(keys: readonly string[], prefix: string, reason: string): Leftover[] {
  return keys.filter((k) => k.startsWith(prefix)).map((k) => ({ name: k.slice(prefix.length), reason }));
}

/**
 * Removes and returns what killed runs left in `dir`, which only a later run in that very directory
 * would otherwise remove: a prune killed between an archive and its sidecar left the sidecar; a create
 * killed outright left its lock file (named by its output, so no create of another name locks it again)
 * and its temporary files. Those two sweeps are the ones create runs, so a file a live process holds
 * or writes stays (lock held, or PID running: stale_temps.ts).
 */
async function removeLeftovers(dir: string): Promise<Leftover[]> {
  const { removeStaleLocks } = await import("../fsutil/file_lock.ts");
  const { CREATE_LOCK_SUFFIX } = await import("../archive/own_files.ts");
  const { sweepStaleTemps } = await import("../fsutil/stale_temps.ts");
  const named = (reason: string) => (path: string) => ({ name: basename(path), reason });
  return [
    ...(await removeOrphanSidecars(dir)).map(named(ORPHAN_SIDECAR)),
    ...(await removeStaleLocks(dir, CREATE_LOCK_SUFFIX)).map(named("lock file of a killed create")),
    ...sweepStaleTemps(dir).map(named("temporary file of a killed run")),
  ];
}

/**
 * Removes `NAME.tar.gz.sha256` files whose `NAME.tar.gz` is gone and returns their paths. Only those
 * older than a minute: a create renames its sidecar in just before its archive, and that moment must not
 * be mistaken for one.
 */
async function removeOrphanSidecars(dir: string): Promise<string[]> {
  const { lstat, readdir } = await import("node:fs/promises");
  const names = new Set(await readdir(dir).catch(() => [] as string[]));
  const removed: string[] = [];
  for (const n of names) {
    if (!n.endsWith(".tar.gz.sha256") || names.has(n.slice(0, -".sha256".length))) continue;
    const st = await lstat(join(dir, n)).catch(() => null);
    if (!st?.isFile() || Date.now() - st.mtimeMs < 60_000) continue;
    await rm(join(dir, n), { force: true }).catch((err) => {
      throw toVigoError(err, join(dir, n));
    });
    removed.push(join(dir, n));
  }
  return removed;
}
