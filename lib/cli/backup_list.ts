import { Command, Option } from "@commander-js/extra-typings";
import { loadServerConfig, requireSqlite } from "../config/server_yaml.ts";
import { listArchives } from "../archive/archive_list.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { archiveUrlOption } from "./archive_backend.ts";
import { listRemote } from "./backup_list_remote.ts";

/** `backup list`: the archives under paths.snapshots, newest first. */
export function backupListCommand(): Command {
  return new Command("list")
    .description("list archives under paths.snapshots (name, UTC time, size, encrypted), newest first")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(
      new Option("--remote", "list the archives under archives/ on the backend (backup.url or --url)"),
    )
    .addOption(archiveUrlOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      if (opts.remote || opts.url) return await listRemote(opts);
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot, { secrets: "skip" });
      requireSqlite(cfg);
      const rows = await listArchives(cfg.paths.snapshots);
      if (opts.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      if (rows.length === 0) {
        console.log(`no archives in ${cfg.paths.snapshots}`);
        return;
      }
      const width = Math.max(4, ...rows.map((r) => r.name.length));
      console.log(`${"NAME".padEnd(width)}  ${"TIME (UTC)".padEnd(20)}  ${"SIZE".padStart(12)}  ENCRYPTED`);
      for (const r of rows) {
        console.log(
          `${r.name.padEnd(width)}  ${r.time.padEnd(20)}  ${String(r.size).padStart(12)}  ${
            r.encrypted ? "yes" : "no"
          }`,
        );
      }
    }) as unknown as Command;
}
