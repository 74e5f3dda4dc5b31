import { Command, Option } from "@commander-js/extra-typings";
import {
  jsonOption,
  passwordCommandOption,
  passwordFileOption,
  serverRootOption,
  serverYamlOption,
} from "./common.ts";
import { say, warn } from "./output.ts";
import { kdfCapFrom, maxKdfIterationsOption, maxKdfMemoryOption } from "./kdf_cap_options.ts";
import { printJson } from "./json_output.ts";

/** `backup drill`: restore every recovery path into scratch, check it, report RPO/RTO. */
export function backupDrillCommand(): Command {
  return new Command("drill")
    .description(
      "restore drill: the newest archive, the newest configcrate snapshot and dumps, and the replica " +
        "(latest and one random earlier moment) are restored into a scratch directory, integrity-checked " +
        "and compared with the live server (read-only); writes a JSON report under paths.snapshots/drills/",
    )
    .addOption(
      new Option("--scratch <dir>", "where the scratch directory goes (default paths.snapshots/drills)"),
    )
    .addOption(
      new Option("--max-age <duration>", "fail when the newest archive or snapshot is older (e.g. 25h)"),
    )
    .addOption(
      new Option("--max-rpo <duration>", "fail when the replica lacks live rows written longer ago than this")
        .default(undefined, "backup.drill.max_rpo, else 5m"),
    )
    .addOption(passwordFileOption("password for an encrypted archive"))
    .addOption(passwordCommandOption())
    .addOption(maxKdfMemoryOption())
    .addOption(maxKdfIterationsOption())
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
      const { parseDuration } = await import("../config/duration.ts");
      const { BusyError, IoError, UsageError, VerifyError } = await import("../errors.ts");
      const { NEXT_DRILL_SWEEP, runDrill } = await import("../drill/run_drill.ts");
      const { leftNote } = await import("../fsutil/left_temp.ts");
      const { passwordSource } = await import("./password.ts");
      const duration = (flag: string, text: string | undefined): number | undefined => {
        if (text === undefined) return undefined;
        try {
          const ms = parseDuration(text);
          if (ms <= 0) throw new Error("must be positive");
          return ms;
        } catch (err) {
          throw new UsageError(`${flag} ${JSON.stringify(text)}: ${(err as Error).message}`);
        }
      };
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot);
      requireSqlite(cfg);
      for (const w of cfg.warnings) warn(w);
      const { report, reportPath, lockedOut } = await runDrill({
        config: cfg,
        scratchParent: opts.scratch,
        password: passwordSource(opts.passwordFile, opts.passwordCommand),
        kdfCap: kdfCapFrom(opts),
        maxAgeMs: duration("--max-age", opts.maxAge) ?? cfg.backup?.drill?.maxAgeMs,
        maxRpoMs: duration("--max-rpo", opts.maxRpo) ?? cfg.backup?.drill?.maxRpoMs,
      });
      // Printed once the report is written: a reader that stops early (`| grep -q fail`, `| head -1`)
      // ends this process at its next write, and the report is what status and the metrics read.
      if (opts.json) printJson({ ...report, report_path: reportPath });
      else {
        for (const [name, r] of Object.entries(report.paths)) {
          const facts = [
            r.rpo_seconds === null ? null : `RPO ${r.rpo_seconds.toFixed(1)}s`,
            r.rto_ms === null ? null : `RTO ${(r.rto_ms / 1000).toFixed(2)}s`,
          ].filter(Boolean).join(", ");
          const why = r.message ? `: ${r.message}` : "";
          say(`${name.padEnd(8)} ${r.status}${facts ? ` (${facts})` : ""}${why}`);
        }
        say(`report: ${reportPath}`);
      }
      const named = (status: string) =>
        Object.entries(report.paths).filter(([, r]) => r.status === status).map(([n]) => n);
      const left = report.scratch_left;
      const note = left
        ? `; ${leftNote("scratch directory", left.path, left.problem, NEXT_DRILL_SWEEP)}`
        : "";
      // A bad backup outranks a drill that could not check another path, which outranks what it left.
      const failed = named("fail");
      if (failed.length) throw new VerifyError(`${reportPath}: drill failed: ${failed.join(", ")}${note}`);
      const unchecked = named("error");
      const scratchFailed = unchecked.filter((n) => !(lockedOut as string[]).includes(n));
      if (scratchFailed.length) {
        throw new IoError(
          `${reportPath}: the drill could not check ${
            scratchFailed.join(", ")
          } (its scratch directory failed)${note}`,
        );
      }
      if (lockedOut.length) {
        throw new BusyError(
          `${reportPath}: the drill could not check ${
            lockedOut.join(", ")
          } (the live database was locked by another process)${note}`,
        );
      }
      // Every path checked, the report written: only the clean-up failed, which a completed command says.
      if (left) throw new IoError(`${reportPath}: the drill is complete${note}`, { path: left.path });
    }) as unknown as Command;
}
