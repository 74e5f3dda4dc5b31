import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `restore`: restore an archive into the server root */
export function backupRestoreCommand(): Command {
  return new Command("restore")
    .description("restore an archive into the server root")
    .action(() => {
      throw new VigoError("restore: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
