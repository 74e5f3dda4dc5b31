import { Command, Option } from "@commander-js/extra-typings";
import { openArchive } from "../archive/archive_source.ts";
import process from "node:process";
import { readManifestWithText } from "../archive/archive_scan.ts";

/** `backup inspect ARCHIVE`: print the manifest, reading only the start of the archive. */
export function backupInspectCommand(): Command {
  return new Command("inspect")
    .description("print an archive's manifest JSON (reads only the start of the archive)")
    .argument("<archive>", "archive file")
    .addOption(new Option("--password-file <file>", "password for an encrypted archive"))
    .action(async (archive, opts) => {
      const opened = await openArchive(archive, { passwordFile: opts.passwordFile, headOnly: true });
      try {
        // Validated, then printed as archived (already pretty JSON): re-serialising 10,000 entries
        // would only cost time.
        const { bytes } = await readManifestWithText(opened.tar);
        // Wait for the write: the process exits right after the action, and a pipe may be slow.
        await new Promise<void>((resolve) => process.stdout.write(bytes, () => resolve()));
      } finally {
        await opened.close();
      }
    }) as unknown as Command;
}
