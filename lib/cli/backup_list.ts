import { Command, Option } from "@commander-js/extra-typings";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { archiveUrlOption } from "./archive_backend.ts";
import { credentialsFileOption } from "./credentials_option.ts";
import { printJson } from "./json_output.ts";
import { printLine, warn } from "./output.ts";

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
    .addOption(credentialsFileOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      if (opts.remote || opts.url) return await (await import("./backup_list_remote.ts")).listRemote(opts);
      const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
      const { listArchives } = await import("../archive/archive_list.ts");
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot, { secrets: "skip" });
      requireSqlite(cfg);
      for (const w of cfg.warnings) warn(w);
      const rows = await listArchives(cfg.paths.snapshots);
      for (const r of rows.filter((r) => r.encrypted === null)) {
        warn(`${r.path}: neither a gzip nor an encrypted archive (damaged, or not an archive)`);
      }
      if (opts.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        printLine(`no archives in ${cfg.paths.snapshots}`);
        return;
      }
      const { futureMark } = await import("../archive/future_dated.ts");
      const now = new Date();
      const width = Math.max(4, ...rows.map((r) => r.name.length));
      printLine(`${"NAME".padEnd(width)}  ${"TIME (UTC)".padEnd(20)}  ${"SIZE".padStart(12)}  ENCRYPTED`);
      for (const r of rows) {
        const enc = r.encrypted === null ? "unknown" : r.encrypted ? "yes" : "no";
        printLine(
          `${r.name.padEnd(width)}  ${r.time.padEnd(20)}  ${String(r.size).padStart(12)}  ${enc}${
            futureMark(r.time, now)
          }`,
        );
      }
    }) as unknown as Command;
}
