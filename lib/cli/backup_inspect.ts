import { Command } from "@commander-js/extra-typings";
import { passwordCommandOption, passwordFileOption } from "./common.ts";
import { writeStdout } from "./stdout.ts";
import { kdfCapFrom, maxKdfIterationsOption, maxKdfMemoryOption } from "./kdf_cap_options.ts";

/** `backup inspect ARCHIVE`: print the manifest, reading only the start of the archive. */
export function backupInspectCommand(): Command {
  return new Command("inspect")
    .description("print an archive's manifest JSON (reads only the start of the archive)")
    .argument("<archive>", "archive file")
    .addOption(passwordFileOption("password for an encrypted archive"))
    .addOption(passwordCommandOption())
    .addOption(maxKdfMemoryOption())
    .addOption(maxKdfIterationsOption())
    .action(async (archive, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { openArchive } = await import("../archive/archive_source.ts");
      const { readManifestWithText } = await import("../archive/archive_scan.ts");
      const { passwordSource } = await import("./password.ts");
      const opened = await openArchive(archive, {
        password: passwordSource(opts.passwordFile, opts.passwordCommand),
        headOnly: true,
        kdfCap: kdfCapFrom(opts),
      });
      try {
        // Validated, then printed as archived (already pretty JSON): re-serialising 10,000 entries
        // would only cost time.
        const { bytes } = await readManifestWithText(opened.tar);
        // The manifest's data can come out of its last gzip member before that member's trailer and
        // stated length are checked: reading on to the next entry's header (the start of the next
        // member) checks them, so a wrong member length fails here as it does in verify.
        await opened.tar.next();
        // Wait for the write: the process exits right after the action, and a pipe may be slow.
        await writeStdout(bytes);
      } finally {
        await opened.close();
      }
    }) as unknown as Command;
}
