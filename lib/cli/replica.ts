import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `replica`: restore, list and configure replicas */
export function replicaCommand(): Command {
  return new Command("replica")
    .description("restore, list and configure replicas")
    .action(() => {
      throw new VigoError("replica: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
