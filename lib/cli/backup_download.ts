import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `download`: download an archive from the backend */
export function backupDownloadCommand(): Command {
  return new Command("download")
    .description("download an archive from the backend")
    .action(() => {
      throw new VigoError("download: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
