import { Command, Option } from "@commander-js/extra-typings";
import { printLine, say, warn } from "./output.ts";
import { join } from "node:path";
import {
  DEFAULT_SERVER_ROOT,
  jsonOption,
  passwordCommandOption,
  passwordFileOption,
  serverYamlOption,
} from "./common.ts";
import { isBackendUrl } from "./archive_backend.ts";
import { credentialsFileOption } from "./credentials_option.ts";
import { kdfCapFrom, maxKdfIterationsOption, maxKdfMemoryOption } from "./kdf_cap_options.ts";
import { printJson } from "./json_output.ts";

/** `backup restore ARCHIVE`: verify, stage, then swap the archived tree into the target. */
export function backupRestoreCommand(): Command {
  return new Command("restore")
    .description(
      "restore an archive into the server root (stop the server first); every entry is checked " +
        "before anything is replaced, and replaced files are moved to <target>/.pre-restore-<UTC time>/",
    )
    .argument(
      "<archive>",
      "archive file, or a remote archive's URL (sftp://host/dir/archives/NAME.tar.gz, s3://…)",
    )
    .addOption(
      new Option("--target <dir>", "root directory to restore into (alias --server-root)").default(
        DEFAULT_SERVER_ROOT,
      )
        .env("VIGO_SERVER_ROOT"),
    )
    .addOption(new Option("--db-only", "restore only the database, skip config/secrets/tls"))
    .addOption(new Option("--dry-run", "show what would be restored without writing"))
    .addOption(new Option("--force", "restore even while the target database is in use"))
    .addOption(new Option("--decrypt", "the archive is encrypted (detected automatically as well)"))
    .addOption(passwordFileOption("password for an encrypted archive"))
    .addOption(passwordCommandOption())
    .addOption(
      new Option(
        "--master-key <file>",
        "put this master key back as secrets/.master.key (archives made with --exclude-master-key)",
      ),
    )
    .addOption(credentialsFileOption())
    .addOption(maxKdfMemoryOption())
    .addOption(maxKdfIterationsOption())
    .addOption(serverYamlOption().default(undefined, "<target>/server.yaml, if present"))
    .addOption(jsonOption())
    .action(async (archive, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { restoreArchive } = await import("../archive/restore.ts");
      const { withRemoteArchive } = await import("./backup_download.ts");
      const { applyMasterKey, masterKeyAction, readMasterKeyFile } = await import(
        "../archive/master_key_restore.ts"
      );
      // Checked before anything is downloaded or restored: a wrong file must not cost a restore.
      const masterKey = opts.masterKey === undefined ? undefined : await readMasterKeyFile(opts.masterKey);
      const { passwordSource } = await import("./password.ts");
      const restore = (path: string) =>
        restoreArchive({
          archive: path,
          target: opts.target,
          dbOnly: Boolean(opts.dbOnly),
          dryRun: Boolean(opts.dryRun),
          force: Boolean(opts.force),
          password: passwordSource(opts.passwordFile, opts.passwordCommand),
          kdfCap: kdfCapFrom(opts),
          serverYaml: opts.serverYaml,
          now: new Date(),
        });
      // A URL is downloaded and checked against its sidecar first (credentials from server.yaml's backup:).
      const r = isBackendUrl(archive)
        ? await withRemoteArchive(
          archive,
          opts.serverYaml ?? join(opts.target, "server.yaml"),
          opts.target,
          opts.credentialsFile,
          restore,
        )
        : await restore(archive);
      if (opts.decrypt && !r.scan.encrypted) {
        warn(`--decrypt given but ${archive} is not encrypted`);
      }
      if (r.scan.sidecar === "absent") {
        warn(`${archive}.sha256 not found; entries were checked against the manifest only`);
      }
      for (const w of r.configWarnings) warn(w);
      if (r.databaseNote) warn(r.databaseNote);
      if (r.pendingRollback) warn(r.pendingRollback);
      if (!r.dryRun && !opts.dbOnly) {
        const action = masterKeyAction(r.scan.manifest, masterKey !== undefined);
        const note = await applyMasterKey(r.target, action, masterKey);
        if (note) warn(note);
      }
      const count = (a: string) => r.plan.filter((l) => l.action === a).length;
      if (opts.json) {
        printJson({
          target: r.target,
          dry_run: r.dryRun,
          database: r.database,
          pre_restore_dir: r.preRestoreDir ?? null,
          plan: r.plan,
        });
        return;
      }
      if (r.dryRun) { for (const l of r.plan) printLine(`${l.action.padEnd(10)} ${l.path}`); }
      const summary = `${count("create")} created, ${count("replace")} replaced, ${
        count("move-aside")
      } moved aside`;
      if (r.dryRun) say(`dry run: would restore into ${r.target}: ${summary}; nothing was written`);
      else {
        say(`restored ${archive} into ${r.target}: ${summary}`);
        if (r.database !== join(r.target, "db", "vigo.db")) say(`database restored to ${r.database}`);
        if (r.preRestoreDir) say(`previous files kept in ${r.preRestoreDir}`);
      }
    }) as unknown as Command;
}
