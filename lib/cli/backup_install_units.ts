/**
 * `vigocli backup install-units`: writes the systemd units shipped in this binary (replication bound
 * to vigosrv.service, nightly configcrate runs, weekly drills) with ExecStart pointing at this binary.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { printLine, say, warn } from "./output.ts";
import process from "node:process";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { BUILD_INFO } from "../build_info.ts";

/**
 * How a unit starts this program: the executable itself when compiled; from sources, the runtime
 * with this checkout's main.ts (useful for trying the units before building).
 */
function selfCommand(bin?: string): string[] {
  if (bin) return [resolve(bin)];
  if (BUILD_INFO.target !== "sources") return [process.execPath];
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  return [process.execPath, "run", "-A", "--quiet", main];
}

/** `install-units`: write the systemd service and timer units. */
export function backupInstallUnitsCommand(): Command {
  return new Command("install-units")
    .description("write systemd units: replication with vigosrv.service, nightly crate runs, weekly drills")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(new Option("--dir <dir>", "unit directory").default("/etc/systemd/system"))
    .addOption(new Option("--bin <path>", "vigocli executable for ExecStart (default: this program)"))
    .addOption(new Option("--dry-run", "print what would be written; write nothing"))
    .addOption(new Option("--force", "replace unit files whose contents differ"))
    .addOption(jsonOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { runInterruptible } = await import("../archive/interrupt_cleanup.ts");
      const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
      const { renderUnits } = await import("../systemd/unit_templates.ts");
      const { installUnits, interruptedInstallLine } = await import("../systemd/install_units.ts");
      const { physicalPath } = await import("../fsutil/physical_path.ts");
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot, { secrets: "skip" });
      requireSqlite(cfg);
      for (const w of cfg.warnings) warn(w);
      const url = cfg.backup?.url;
      const units = renderUnits({
        command: selfCommand(opts.bin),
        serverYaml: cfg.serverYamlPath,
        serverRoot: cfg.serverRoot,
        // The replicator works beside the file a symbolic link points to; under ProtectSystem=strict
        // the link's directory alone is read-only there and the service fails in a restart loop.
        dbDirs: [...new Set([dirname(physicalPath(cfg.database.path)), dirname(cfg.database.path)])],
        replicaDir: url?.startsWith("file://") ? fileURLToPath(url) : undefined,
        shutdownTimeoutMs: cfg.backup?.shutdownTimeoutMs,
      });
      const dir = resolve(opts.dir);
      // Ctrl-C or a systemd stop leaves the old units or the new, never a mix, and no temporary file.
      const { units: actions, leftovers } = await runInterruptible(
        (signal) => installUnits(units, { dir, dryRun: opts.dryRun, force: opts.force, signal }),
        (outcome, sig) => interruptedInstallLine(dir, !!opts.dryRun, outcome, sig),
      );
      if (opts.json) {
        const left = leftovers.map((path) => ({ name: basename(path), path }));
        printJson({ dry_run: !!opts.dryRun, units: actions, leftovers: left });
        return;
      }
      const verb = opts.dryRun ? "would be " : "";
      for (const p of leftovers) say(`${p}: ${verb}removed (temporary file of a killed install-units)`);
      for (const a of actions) say(`${a.path}: ${verb}${a.action}`);
      if (opts.dryRun) {
        for (const u of units) printLine(`\n# ${u.name}\n${u.text.trimEnd()}`);
      } else if (actions.some((a) => a.action !== "unchanged")) {
        say("next: systemctl daemon-reload (see docs/guide/services.md)");
      }
    }) as unknown as Command;
}
