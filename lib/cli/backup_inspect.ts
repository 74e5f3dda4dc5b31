import { Command, Option } from "@commander-js/extra-typings";
import { openArchive } from "../archive/archive_source.ts";
import { readManifestEntry } from "../archive/archive_scan.ts";

/** `backup inspect ARCHIVE`: print the manifest, reading only the start of the archive. */
export function backupInspectCommand(): Command {
  return new Command("inspect")
    .description("print an archive's manifest JSON (reads only the start of the archive)")
    .argument("<archive>", "archive file")
    .addOption(new Option("--password-file <file>", "password for an encrypted archive"))
    .action(async (archive, opts) => {
      const opened = await openArchive(archive, { passwordFile: opts.passwordFile, headOnly: true });
      try {
        const manifest = await readManifestEntry(opened.tar);
        console.log(JSON.stringify(manifest, null, 2));
      } finally {
        await opened.close();
      }
    }) as unknown as Command;
}
