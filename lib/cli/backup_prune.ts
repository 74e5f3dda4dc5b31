/**
 * `vigocli backup prune [--remote] [--keep N] [--dry-run]`: retention for archives, on the backend
 * (`--remote`: under archives/ at backup.url or --url) or in paths.snapshots. `--keep N` keeps the N
 * newest; otherwise archives older than `--older-than`, else server.yaml's `backup.retention`
 * (default 720h), are removed — never the newest one. Sidecars go with their archives. Locally it also
 * removes what killed runs left in the directory (temporary files, lock files, lone sidecars) and lists
 * them as leftovers; with --remote, so are the sidecars whose archive is gone that it deletes and, on a
 * file:// or sftp:// backend, the dead runs' temporary files its listing removes. A dry run lists the
 * leftovers it would delete ("would delete") by the same decisions, and deletes none. An archive dated
 * in the future is kept, not counted among the newest, and warned of on stderr (future_dated.ts).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { printLine, say, warn } from "./output.ts";
import type { RetentionPolicy } from "../archive/archive_retention.ts";
import type { Leftover } from "../archive/snapshot_leftovers.ts";
import { objectUrl, spareTempsInListings, tempsRemovedByListing } from "../backend/backend.ts";
import { DurationSyntaxError, parseDuration } from "../config/duration.ts";
import { UsageError } from "../errors.ts";
import { removeNamed } from "../fsutil/remove_named.ts";
import { archiveUrlOption, loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";

interface Line {
  name: string;
  time: string;
  size: number;
  action: "keep" | "delete";
  reason: string;
  dated_in_future: boolean;
}

function parseKeep(text: string): number {
  const n = Number(text);
  // Safe integers only: a huge one was taken as 1e+23 and reported so ("one of the 1e+23 newest").
  if (!/^\d+$/.test(text) || n < 1 || !Number.isSafeInteger(n)) {
    throw new UsageError(`--keep ${text}: expected a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
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
      const { ORPHAN_SIDECAR, sweepSnapshotLeftovers } = await import("../archive/snapshot_leftovers.ts");
      const { BACKUP_DEFAULTS } = await import("../config/server_yaml_parse.ts");
      const { futureDatedNote } = await import("../archive/future_dated.ts");
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
      // A dry run lists the leftovers it would delete and deletes none: a backend's listing, which removes
      // dead runs' temporary files, is told to spare them.
      let leftovers: Leftover[];
      if (remote) {
        const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml);
        if (dryRun) spareTempsInListings(backend);
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
            dated_in_future: l.datedInFuture,
          }));
          leftovers = [
            ...leftoversUnder(orphans, ARCHIVES_PREFIX, ORPHAN_SIDECAR),
            ...leftoversUnder(
              tempsRemovedByListing(backend),
              ARCHIVES_PREFIX,
              "temporary file of a killed run",
            ),
          ];
        } finally {
          await backend.close();
        }
      } else {
        where = cfg!.paths.snapshots;
        // Not an archive we recognise: neither counted among those kept nor deleted (a real one would be
        // deleted in its place).
        const local = (await listArchives(where)).filter((a) => a.encrypted !== null);
        const plan = planRetention(local.map((a) => ({ name: a.name, time: new Date(a.time), a })), policy);
        lines = [];
        for (const d of plan) {
          if (d.action === "delete" && !dryRun) {
            for (const p of [d.archive.a.path, `${d.archive.a.path}.sha256`]) {
              await removeNamed(p);
            }
          }
          lines.push({
            name: d.archive.name,
            time: d.archive.a.time,
            size: d.archive.a.size,
            action: d.action,
            reason: d.reason,
            dated_in_future: d.datedInFuture,
          });
        }
        leftovers = await sweepSnapshotLeftovers(where, dryRun);
      }
      const deleted = lines.filter((l) => l.action === "delete");
      // On stderr, --json or not: what the prune could not decide is for an operator to see and settle.
      for (const l of lines.filter((l) => l.dated_in_future)) {
        warn(futureDatedNote(`${where.replace(/\/+$/, "")}/${l.name}`, l.time, policy.now));
      }
      if (opts.json) {
        printJson({ where, dry_run: dryRun, archives: lines, leftovers });
        return;
      }
      // A dry run's plan is what it exists to print, -q or not; a prune's own report is a summary.
      const print = dryRun ? printLine : say;
      for (const l of lines) print(`${l.action.padEnd(6)}  ${l.name}  (${l.reason})`);
      for (const l of leftovers) print(`${dryRun ? "would delete" : "delete"}  ${l.name}  (${l.reason})`);
      print(`${where}: ${pruneSummary(dryRun, deleted.length, lines.length, leftovers.length)}`);
    }) as unknown as Command;
}

/** The last line of a prune: what it deleted (or with `dryRun` would), archives and leftovers of killed runs. */
function pruneSummary(
  dryRun: boolean,
  deleted: number,
  archives: number,
  leftovers: number,
): string {
  const files = (n: number) => `${n} leftover file(s) of killed runs`;
  const and = (n: number) => n > 0 ? ` and ${files(n)}` : "";
  if (!dryRun) return `deleted ${deleted} of ${archives} archive(s)${and(leftovers)}`;
  return `would delete ${deleted} of ${archives} archive(s)${and(leftovers)}; nothing was deleted`;
}

/**
 * The leftovers among `keys` under `prefix`, named relative to it as a local prune names its own
 * relative to paths.snapshots.
 */
function leftoversUnder(keys: readonly string[], prefix: string, reason: string): Leftover[] {
  return keys.filter((k) => k.startsWith(prefix)).map((k) => ({ name: k.slice(prefix.length), reason }));
}
