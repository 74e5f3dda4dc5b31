import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `inspect`: print an archive's manifest */
export function backupInspectCommand(): Command {
  return new Command("inspect")
    .description("print an archive's manifest")
    .action(() => {
      throw new VigoError("inspect: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
