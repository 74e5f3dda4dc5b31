import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `replicate`: continuously replicate the database (Litestream-compatible) */
export function backupReplicateCommand(): Command {
  return new Command("replicate")
    .description("continuously replicate the database (Litestream-compatible)")
    .action(() => {
      throw new VigoError("replicate: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
