import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `verify`: verify an archive's checksums and database */
export function backupVerifyCommand(): Command {
  return new Command("verify")
    .description("verify an archive's checksums and database")
    .action(() => {
      throw new VigoError("verify: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
