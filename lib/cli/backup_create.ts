import { Command, Option } from "@commander-js/extra-typings";
import { say, warn } from "./output.ts";
import { stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, CryptoError, UsageError } from "../errors.ts";
import { DurationSyntaxError, parseDuration } from "../config/duration.ts";
import { archiveFileName, NAME_FORMATS, type NameFormat } from "../archive/archive_names.ts";
import { CREATE_LOCK_SUFFIX } from "../archive/own_files.ts";
import {
  jsonOption,
  passwordCommandOption,
  passwordFileOption,
  serverRootOption,
  serverYamlOption,
} from "./common.ts";
import { isBackendUrl, loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import type { CreateTarget } from "./create_upload.ts";
import { printJson } from "./json_output.ts";
import { makeOwnDirectory, notADirectory } from "../fsutil/own_directory.ts";

/**
 * A source file that changes between the two passes, or a database replaced while it is pinned, makes
 * create start over, at most this often.
 */
const ATTEMPTS = 3;
const ARCHIVE_CANNOT_BE_WRITTEN = "the archive cannot be written there";

function parseLockTimeout(text: string): number {
  try {
    const ms = parseDuration(text);
    if (ms >= 0) return ms;
  } catch (err) {
    if (!(err instanceof DurationSyntaxError)) throw err;
  }
  throw new UsageError(`--lock-timeout ${text}: expected a duration such as 30s or 2m`);
}

/** `backup create [OUT]`: a point-in-time archive of the server tree. */
export function backupCreateCommand(): Command {
  return new Command("create")
    .description(
      "create a point-in-time archive of the server (database snapshot, stacks/, secrets/, tls/, server.yaml)\n" +
        "OUT omitted: <paths.snapshots>/vigo-backup-<UTC time>.tar.gz; OUT a directory: that name inside it;\n" +
        "OUT a backend URL (s3://, gcs://, sftp://, file://): upload to <URL>/archives/ only",
    )
    .argument("[out]", "archive file, directory, or backend URL to write")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(new Option("--encrypt", "encrypt the archive (AES-256-GCM, Argon2id-derived key)"))
    .addOption(passwordFileOption("read the encryption password from a file"))
    .addOption(passwordCommandOption())
    .addOption(
      new Option("--upload", "also upload the archive and its sidecar to backup.url under archives/"),
    )
    .addOption(
      new Option("--name-format <format>", "time in the default name: rfc3339 (spec) or compact (no colons)")
        .choices(NAME_FORMATS).default("rfc3339" as NameFormat),
    )
    .addOption(
      new Option("--dry-run", "print what would be archived (parts, files, bytes) and write nothing"),
    )
    .addOption(
      new Option(
        "--exclude-master-key",
        "leave secrets/.master.key out (keep it elsewhere; restore it with backup restore --master-key FILE)",
      ),
    )
    .addOption(
      new Option(
        "--lock-timeout <duration>",
        "wait at most this long for a database locked by another process",
      )
        .default(30_000, "30s").argParser(parseLockTimeout),
    )
    .addOption(
      new Option(
        "--allow-missing-master-key",
        "create even when secrets/.master.key is missing (exit 9 otherwise)",
      ),
    )
    .addOption(jsonOption())
    .action(async (out, opts) => {
      // A password without --encrypt means the user meant to encrypt: writing the archive (the master
      // key in it) in the clear instead would be the one mistake nothing later reveals.
      const given = opts.passwordFile !== undefined
        ? "--password-file"
        : opts.passwordCommand !== undefined
        ? "--password-command"
        : undefined;
      if (given && !opts.encrypt) {
        throw new UsageError(`${given} is given without --encrypt; add --encrypt to encrypt the archive`);
      }
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
      const { FileChangedError, writeArchive } = await import("../archive/archive_writer.ts");
      const { DatabaseReplacedError } = await import("../sqlite/pinned_database.ts");
      const { openCreateSink } = await import("./create_upload.ts");
      // A restore killed mid-commit may have moved server.yaml aside: rolled back before it is read, not
      // only in writeArchive (the read failed with "not found", or read the half-restored one).
      const { pendingJournals, recoverInterruptedRestoreLocking } = await import(
        "../archive/restore_journal.ts"
      );
      if (!opts.dryRun) await recoverInterruptedRestoreLocking(opts.serverRoot);
      else if (pendingJournals(opts.serverRoot).length > 0) {
        warn(`${opts.serverRoot}: a restore was interrupted here; the real create first rolls it back`);
      }
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot, { secrets: "skip" });
      requireSqlite(cfg);
      const remoteOnly = out !== undefined && isBackendUrl(out);
      // An upload reads server.yaml again, for the backend's credentials, and warns then.
      if (opts.dryRun || !(remoteOnly || opts.upload)) { for (const w of cfg.warnings) warn(w); }
      const now = new Date();
      if (opts.dryRun) {
        const { printCreateDryRun } = await import("./create_dry_run.ts");
        return await printCreateDryRun(cfg, out, { ...opts, now });
      }
      const path = remoteOnly
        ? undefined
        : await resolveOutPath(out, cfg.paths.snapshots, archiveFileName(now, opts.nameFormat));
      const target: CreateTarget = { local: path };
      if (remoteOnly || opts.upload) {
        const settings = await loadBackupSettings(opts.serverYaml, opts.serverRoot, true);
        if (!remoteOnly && !settings?.backup?.url) {
          throw new ConfigError(
            `${opts.serverYaml}: --upload needs backup.url (or give OUT as a backend URL)`,
          );
        }
        const backend = await openArchiveBackend(
          remoteOnly ? out : undefined,
          settings?.backup,
          opts.serverYaml,
        );
        target.remote = { backend, name: path ? basename(path) : archiveFileName(now, opts.nameFormat) };
      }
      const workDir = path ? dirname(path) : await snapshotsDir(cfg.paths.snapshots);
      // Asked once: a start-over after a changed source file must not prompt again. Asked before the
      // lock and its interrupt handlers: nothing is made yet, so a SIGTERM at the prompt only exits (130,
      // start-up's handler; the prompt puts the terminal back on exit).
      const password = opts.encrypt ? await askPassword(opts, path ?? out!) : undefined;
      // Two creates to one output path would race on its temp file and rename; released when the
      // action ends, however it ends. (A missing directory is reported by the write itself.) The
      // interrupt handlers go in first: a signal from the moment its file exists then exits through
      // the exit hook that removes it, where the default action left it.
      const { acquireFileLock, removeStaleLocks } = await import("../fsutil/file_lock.ts");
      const { installInterruptHandlers } = await import("../archive/interrupt_cleanup.ts");
      const lockable = path !== undefined && await stat(workDir).then(() => true, () => false);
      if (lockable) installInterruptHandlers();
      using _lock = lockable
        ? await acquireFileLock(`${path}${CREATE_LOCK_SUFFIX}`, path, "backup create to this path")
        : null;
      // Creates killed outright left theirs; only a create to that very path would remove it.
      if (lockable) await removeStaleLocks(workDir, CREATE_LOCK_SUFFIX);
      const run = async (signal?: AbortSignal) => {
        for (let attempt = 1;; attempt++) {
          const transform = password === undefined ? undefined : await encryptTransform(password);
          const sink = await openCreateSink(target, signal).catch(async (err) => {
            await target.remote?.backend.close();
            throw err;
          });
          try {
            const res = await writeArchive(
              {
                config: cfg,
                workDir,
                output: path,
                transform,
                // Its plaintext copy of a rollback-journal database stays off the output's medium.
                copyBesideDatabase: transform !== undefined,
                excludeMasterKey: Boolean(opts.excludeMasterKey),
                allowMissingMasterKey: opts.allowMissingMasterKey,
                lockTimeoutMs: opts.lockTimeout,
              },
              sink.writable,
            );
            const { file, upload } = await sink.done;
            await target.remote?.backend.close();
            for (const w of res.warnings) warn(w);
            const summary = {
              path: file?.path ?? null,
              sidecar: file?.sidecarPath ?? null,
              bytes: (file ?? upload)!.bytes,
              sha256: (file ?? upload)!.sha256,
              upload: upload ? { url: upload.url, key: upload.key, sidecar_key: upload.sidecarKey } : null,
              encrypted: Boolean(opts.encrypt),
              excluded: res.manifest.excluded ?? [],
              created_at: res.manifest.created_at,
              entries: res.manifest.entries.length,
              database_pages: res.manifest.database.page_count,
            };
            if (opts.json) printJson(summary);
            else {
              const remote = upload && `${upload.url.replace(/\/+$/, "")}/${upload.key}`;
              say(
                `${
                  file?.path ?? remote
                }: ${summary.bytes} bytes, ${summary.entries} entries, sha256 ${summary.sha256}`,
              );
              if (file && remote) say(`uploaded to ${remote}`);
            }
            // After the archive's own line: what was made is said even when its clean-up failed.
            if (res.copyLeft) throw res.copyLeft;
            return;
          } catch (err) {
            // A restore that swapped the database in while it was pinned: the next attempt pins the new one.
            const changed = err instanceof FileChangedError || err instanceof DatabaseReplacedError;
            if (!changed || attempt >= ATTEMPTS) {
              await target.remote?.backend.close();
              throw err;
            }
            warn(`${err.message}; starting over`);
          }
        }
      };
      if (!target.remote) return await run();
      // Ctrl-C or a systemd stop also takes back what the upload had started before the exit (130).
      const { runInterruptible } = await import("../archive/interrupt_cleanup.ts");
      const { stoppedPutError } = await import("../backend/backend.ts");
      const { interruptedCreateLine } = await import("./create_upload.ts");
      const where = `${target.remote.backend.url.replace(/\/+$/, "")}/archives/${target.remote.name}`;
      await runInterruptible(
        (signal) =>
          run(signal).catch((err) => {
            throw stoppedPutError(err, signal);
          }),
        (outcome, sig) => interruptedCreateLine(where, outcome, sig),
      );
    }) as unknown as Command;
}

/** The password for the archive `archive` (its path or URL), which a failure to get one names. */
async function askPassword(
  flags: { passwordFile?: string; passwordCommand?: string },
  archive: string,
): Promise<string> {
  const { obtainPassword } = await import("./password.ts");
  return await obtainPassword({ confirm: true, ...flags }).catch((err) => {
    // "no password: …" says nothing of which archive wanted one; a password file's error names that file.
    if (err instanceof CryptoError && !err.message.startsWith(archive)) {
      err.message = `${archive}: ${err.message}`;
    }
    throw err;
  });
}

async function encryptTransform(password: string): Promise<TransformStream<Uint8Array, Uint8Array>> {
  const { encryptingStream } = await import("../crypto/envelope.ts");
  return encryptingStream(password);
}

/**
 * OUT omitted → default name under paths.snapshots; OUT a directory (or ending in /) → default name in
 * it, the directory created unless `dryRun`.
 */
export async function resolveOutPath(
  out: string | undefined,
  snapshots: string,
  name: string,
  dryRun = false,
): Promise<string> {
  let dir: string | undefined;
  if (out === undefined) dir = snapshots;
  else if (out.endsWith("/")) dir = out;
  else if ((await stat(out).catch(() => null))?.isDirectory()) dir = out;
  if (dir === undefined) return resolve(out!);
  if (dryRun) {
    if ((await stat(dir).catch(() => null))?.isDirectory() === false) {
      throw notADirectory(dir, ARCHIVE_CANNOT_BE_WRITTEN);
    }
  } else await makeOwnDirectory(dir, ARCHIVE_CANNOT_BE_WRITTEN);
  return resolve(join(dir, name));
}

/** paths.snapshots, created if needed: where an upload-only create sweeps its dead runs' leftovers. */
async function snapshotsDir(dir: string): Promise<string> {
  await makeOwnDirectory(dir, "create keeps its working files there");
  return dir;
}
