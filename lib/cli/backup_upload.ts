/**
 * `vigocli backup upload ARCHIVE`: `backup download`'s counterpart. Sends a local archive and its
 * `.sha256` sidecar to `archives/<name>` on the backend, for an archive made by a plain `backup create`
 * while the backend could not be reached (`create --upload` then fails as a whole).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { say } from "./output.ts";
import { archiveUrlOption, loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import { credentialsFileOption, credentialSources } from "./credentials_option.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";

/** `upload`: upload a local archive to the backend */
export function backupUploadCommand(): Command {
  return new Command("upload")
    .description(
      "upload a local archive and its .sha256 sidecar to archives/NAME on the backend (backup.url or " +
        "--url), NAME being the archive's file name; refused (nothing uploaded) when the sidecar is " +
        "missing or does not match, or when NAME exists there",
    )
    .argument("<archive>", "archive file (NAME.tar.gz, with NAME.tar.gz.sha256 beside it)")
    .addOption(new Option("--replace", "replace an archive of that name on the backend (and its sidecar)"))
    .addOption(archiveUrlOption())
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(credentialsFileOption())
    .addOption(jsonOption())
    .action(async (archive, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { interruptedUploadLine, uploadArchive } = await import("../archive/archive_upload.ts");
      const { runInterruptible } = await import("../archive/interrupt_cleanup.ts");
      const { ARCHIVES_PREFIX, checkArchiveName } = await import("../archive/remote_archives.ts");
      const { objectUrl } = await import("../backend/backend.ts");
      const { basename, resolve } = await import("node:path");
      // A bad name is a usage error before any server.yaml or backend is looked at.
      checkArchiveName(basename(archive));
      const creds = await credentialSources(opts.credentialsFile);
      const cfg = await loadBackupSettings(opts.serverYaml, opts.serverRoot, opts.url === undefined, creds);
      const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml, creds);
      try {
        const replace = opts.replace ?? false;
        const target = objectUrl(backend, `${ARCHIVES_PREFIX}${basename(archive)}`);
        // Ctrl-C or a systemd stop takes back what the upload had started before the exit (130).
        // Messages name the file as it was given, as verify's do; --json's path is absolute.
        const r = await runInterruptible(
          (signal) => uploadArchive(backend, archive, { replace, signal }),
          (outcome, sig) => interruptedUploadLine(archive, target, replace, outcome, sig),
        );
        const url = objectUrl(backend, r.key);
        if (opts.json) {
          const path = resolve(archive);
          printJson({ path, url, key: r.key, sidecar_key: r.sidecarKey, bytes: r.bytes, sha256: r.sha256 });
        } else say(`${url}: ${r.bytes} bytes, sha256 ${r.sha256} (matches the local sidecar)`);
      } finally {
        await backend.close();
      }
    }) as unknown as Command;
}
