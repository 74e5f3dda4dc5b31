import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `crate`: run configcrate backup executors */
export function crateCommand(): Command {
  return new Command("crate")
    .description("run configcrate backup executors")
    .action(() => {
      throw new VigoError("crate: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
