import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `snapshot`: list hardlink snapshots */
export function snapshotCommand(): Command {
  return new Command("snapshot")
    .description("list hardlink snapshots")
    .action(() => {
      throw new VigoError("snapshot: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
