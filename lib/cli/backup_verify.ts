import { Command } from "@commander-js/extra-typings";
import { say } from "./output.ts";
import { stat } from "node:fs/promises";
import { toVigoError } from "../errors.ts";
import { jsonOption, passwordCommandOption, passwordFileOption } from "./common.ts";
import { kdfCapFrom, maxKdfIterationsOption, maxKdfMemoryOption } from "./kdf_cap_options.ts";
import { printJson } from "./json_output.ts";

/** `backup verify ARCHIVE`: sidecar, manifest checksums and integrity_check of the contained database. */
export function backupVerifyCommand(): Command {
  return new Command("verify")
    .description(
      "verify an archive: .sha256 sidecar, every entry's SHA-256 against the manifest, and " +
        "PRAGMA integrity_check of the contained database (in a temporary directory); exit 0 only if all hold",
    )
    .argument("<archive>", "archive file")
    .addOption(passwordFileOption("password for an encrypted archive"))
    .addOption(passwordCommandOption())
    .addOption(maxKdfMemoryOption())
    .addOption(maxKdfIterationsOption())
    .addOption(jsonOption())
    .action(async (archive, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { verifyArchive } = await import("../archive/verify.ts");
      const { passwordSource } = await import("./password.ts");
      // A missing archive is "not found" (9), not a missing sidecar (8).
      await stat(archive).catch((err) => {
        throw toVigoError(err, archive);
      });
      const r = await verifyArchive(archive, {
        password: passwordSource(opts.passwordFile, opts.passwordCommand),
        kdfCap: kdfCapFrom(opts),
      });
      const files = r.scan.manifest.entries.filter((e) => e.type === "file").length;
      if (opts.json) {
        printJson({
          archive,
          ok: true,
          sidecar: r.scan.sidecar,
          sha256: r.scan.archiveSha256,
          encrypted: r.scan.encrypted,
          entries: r.scan.manifest.entries.length,
          integrity_check: r.integrityCheck,
          page_size: r.pageSize,
          page_count: r.pageCount,
        });
      } else {
        say(`${archive}: sidecar ok`);
        say(
          `${archive}: ${r.scan.manifest.entries.length} entries match the manifest (${files} files hashed)`,
        );
        say(
          `${archive}: database integrity_check ${r.integrityCheck} (${r.pageCount} pages of ${r.pageSize} bytes)`,
        );
      }
    }) as unknown as Command;
}
