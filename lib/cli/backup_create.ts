import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `create`: create a point-in-time archive of the server */
export function backupCreateCommand(): Command {
  return new Command("create")
    .description("create a point-in-time archive of the server")
    .action(() => {
      throw new VigoError("create: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
