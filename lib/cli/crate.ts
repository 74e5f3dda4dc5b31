/**
 * `vigocli crate run FILE` runs the backup and db_backup resources of a configcrate the way the agent's
 * executors do; `vigocli crate restore-dump DUMP -o OUT` turns a db_backup dump back into a database.
 */
import { Command } from "@commander-js/extra-typings";
import { isQuiet, say, warn } from "./output.ts";
import { UsageError } from "../errors.ts";
import type { CrateRunReport } from "../crate/crate_runner.ts";
import { jsonOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { queueStderr, queueStdout } from "./stdout.ts";

/** `crate`: run configcrate backup executors */
export function crateCommand(): Command {
  return new Command("crate")
    .description("run configcrate backup executors (hardlink snapshots, deterministic SQLite dumps)")
    .addCommand(runCommand())
    .addCommand(restoreDumpCommand()) as unknown as Command;
}

function runCommand() {
  return new Command("run")
    .description(
      "run every backup/db_backup resource of a configcrate file; VIGO_NOW=<RFC 3339> overrides the clock",
    )
    .argument("<file>", "configcrate YAML file")
    .option("--now", "run regardless of the schedule window")
    .option("--dry-run", "say what would be copied, linked and pruned; change nothing")
    .option("--var <name=value>", "override a var the crate declares (repeatable)", collectVar, {})
    .option("--root <dir>", "rebase every absolute path of the crate under DIR (drills, tests)")
    .option("--resource <name>", "run only this resource (repeatable)", collect, [] as string[])
    .addOption(jsonOption())
    .action(async (file, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { installInterruptHandlers } = await import("../archive/interrupt_cleanup.ts");
      // Before anything else: a signal before or between the resources' locked sections (which add
      // their own undoing) or during a dry run ends the run with this module's line too.
      installInterruptHandlers();
      const { currentTime } = await import("../crate/clock.ts");
      const { loadCrateFile } = await import("../crate/crate_file.ts");
      const { runCrate } = await import("../crate/crate_runner.ts");
      const crate = loadCrateFile(file, { vars: opts.var, root: opts.root });
      for (const name of opts.resource) {
        if (!crate.resources.some((r) => r.name === name)) {
          throw new UsageError(`--resource ${name}: ${crate.path} has no resource named "${name}"`);
        }
      }
      const settings = {
        now: currentTime(),
        ignoreSchedule: opts.now === true,
        dryRun: opts.dryRun === true,
      };
      // Two runs of one crate would snapshot into and prune the same directories at once. A dry run
      // changes nothing and needs no lock.
      const { acquireFileLockBeside } = await import("../fsutil/file_lock.ts");
      using _lock = settings.dryRun
        ? null
        : await acquireFileLockBeside(crate.path, ".vigo-crate.lock", "crate run of this configcrate");
      const { report, errors } = await runCrate(crate, settings, opts.resource);
      if (opts.json) printJson(report);
      else if (!isQuiet()) queueStdout(formatReport(report));
      for (const r of report.resources) {
        for (const w of r.warnings) warn(`${r.resource}: ${w}`);
      }
      if (errors.length > 1) {
        for (const e of errors.slice(1)) queueStderr(`vigocli: ${e.message}\n`);
      }
      if (errors.length > 0) throw errors[0];
    });
}

function restoreDumpCommand() {
  return new Command("restore-dump")
    .description("restore a db_backup dump (.sql.gz or plain .sql) into a new SQLite database")
    .argument("<dump>", "dump file")
    .requiredOption("-o, --output <path>", "database to create (must not exist)")
    .addOption(jsonOption())
    .action(async (dump, opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { installInterruptHandlers, runInterruptible } = await import("../archive/interrupt_cleanup.ts");
      // Before the restore's code loads: a signal then ends it with this module's line too.
      installInterruptHandlers();
      const { interruptedRestoreDumpLine, restoreDump } = await import("../crate/dump_restore.ts");
      // Ctrl-C or a systemd stop removes the half-built database before the exit (130), as elsewhere.
      const r = await runInterruptible(
        (signal) => restoreDump(dump, opts.output, signal),
        (outcome, sig) => interruptedRestoreDumpLine(dump, opts.output, outcome, sig),
      );
      if (opts.json) printJson({ dump, output: opts.output, sql_chars: r.sqlChars });
      else say(`restored ${dump} to ${opts.output}`);
    });
}

/** Human-readable report: one headline per resource, indented details. */
function formatReport(report: CrateRunReport): string {
  const lines: string[] = [
    `crate ${report.crate} (${report.path}) at ${report.now}${report.dryRun ? " [dry run]" : ""}`,
  ];
  for (const r of report.resources) {
    const dry = report.dryRun;
    switch (r.status) {
      case "created":
        lines.push(
          `${r.resource}: created ${r.targetPath}/${r.snapshot}${
            r.previous ? ` (previous ${r.previous})` : ""
          }`,
        );
        break;
      case "planned":
        lines.push(
          `${r.resource}: would create ${r.targetPath}/${r.snapshot}${
            r.previous ? ` (previous ${r.previous})` : ""
          }`,
        );
        break;
      case "skipped":
        lines.push(`${r.resource}: skipped: ${r.reason}`);
        break;
      case "failed":
        lines.push(`${r.resource}: FAILED: ${r.reason}`);
    }
    for (const d of r.details) lines.push(`  ${d}`);
    for (const l of r.removedLeftovers) lines.push(`  ${dry ? "would remove" : "removed"} leftover ${l}`);
    for (const p of r.pruned) lines.push(`  ${dry ? "would prune" : "pruned"} ${p}`);
    for (const [kind, c] of [["pre_command", r.preCommand], ["post_command", r.postCommand]] as const) {
      if (c) lines.push(`  ${kind} ${c.ok ? "ok" : `failed (status ${c.status ?? c.signal})`}: ${c.command}`);
    }
  }
  return lines.join("\n") + "\n";
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectVar(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new UsageError(`--var ${value}: expected name=value`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
