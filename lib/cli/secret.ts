import { Command } from "@commander-js/extra-typings";
import { VigoError } from "../errors.ts";

/** `secret`: manage secret: values under secrets/ */
export function secretCommand(): Command {
  return new Command("secret")
    .description("manage secret: values under secrets/")
    .action(() => {
      throw new VigoError("secret: not implemented yet", 1, "internal");
    }) as unknown as Command;
}
