import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `list`: list archives under paths.snapshots */
export function backupListCommand(): Command {
  return new Command("list")
    .description("list archives under paths.snapshots")
    .action(() => {
      throw new VigoError("list: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
