/** `vigocli snapshot list TARGET_PATH`: the hardlink snapshots under a crate's target_path. */
import { Command } from "@commander-js/extra-typings";
import { jsonOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { queueStdout } from "./stdout.ts";

/** `snapshot`: list hardlink snapshots */
export function snapshotCommand(): Command {
  return new Command("snapshot")
    .description("inspect hardlink snapshots made by the backup and db_backup executors")
    .addCommand(
      new Command("list")
        .description(
          "list snapshots under TARGET_PATH: time, file count, bytes unique to each (what deleting it frees)",
        )
        .argument("<target_path>", "a backup or db_backup target_path")
        .addOption(jsonOption())
        .action(async (target, opts) => {
          // Loaded here, not at the top, so that merely building the command tree stays cheap.
          const { snapshotUsage } = await import("../crate/snapshot_usage.ts");
          const { formatSize } = await import("../crate/size.ts");
          const rows = snapshotUsage(target);
          if (opts.json) {
            printJson(rows);
            return;
          }
          const lines = [["SNAPSHOT", "TIME", "FILES", "SIZE", "UNIQUE"].join("\t")];
          for (const r of rows) {
            lines.push([r.name, r.time, r.files, formatSize(r.bytes), formatSize(r.uniqueBytes)].join("\t"));
          }
          queueStdout(lines.join("\n") + "\n");
        }),
    ) as unknown as Command;
}
