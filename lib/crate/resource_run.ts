/**
 * The flow every snapshot resource shares: schedule window, pre-flight checks (free space, the type's
 * own), lock, leftover cleanup, pre_command, build under a temporary name, rename, post_command,
 * retention. The type-specific part (what goes into a snapshot) is a {@link ResourceExecutor}.
 */
import { join } from "node:path";
import { stopOnInterrupt } from "../archive/interrupt_cleanup.ts";
import { IoError, toVigoError } from "../errors.ts";
import type { CrateResource } from "./crate_file.ts";
import { freeBytes } from "./fs_checks.ts";
import { snapshotsToPrune } from "./retention.ts";
import { snapshotInWindow } from "./schedule.ts";
import {
  type CommandOutcome,
  describeFailure,
  type RunningCommand,
  runShellCommand,
  startShellCommand,
  stopCommand,
} from "./shell_command.ts";
import { formatSize } from "./size.ts";
import { formatSnapshotName } from "./snapshot_name.ts";
import {
  acquireLock,
  beginSnapshot,
  commitSnapshot,
  deleteSnapshot,
  listLeftovers,
  listSnapshots,
  removeLeftovers,
  removeTree,
  removingIncomplete,
  type SnapshotEntry,
} from "./snapshot_store.ts";

/**
 * How long post_command may take after a signal before it is sent SIGTERM: the process must still
 * exit, well within systemd's default 90 s stop timeout.
 */
const POST_COMMAND_ON_INTERRUPT_MS = 60_000;

/** What a resource type contributes to the shared flow. */
export interface ResourceExecutor<S> {
  /** The thing backed up (for messages). */
  source: string;
  /** Type-specific checks before anything is written; may throw or warn. */
  preflight(warn: (msg: string) => void): void;
  /** Fills `dest` (null in a dry run, which only plans) linking against `prev`. */
  build(
    dest: string | null,
    prev: SnapshotEntry | null,
    dryRun: boolean,
    warn: (msg: string) => void,
  ): Promise<S>;
  /** Human-readable lines about `stats`. */
  describe(stats: S, dryRun: boolean): string[];
}

/** How to run. */
export interface RunSettings {
  /** The clock (VIGO_NOW or the wall clock). */
  now: Date;
  /** `--now`: ignore the schedule window. */
  ignoreSchedule: boolean;
  dryRun: boolean;
}

/**
 * The outcome of one resource, as printed by `crate run` (and `--json`). What does not apply is null,
 * never left out, so a script reads every field of every resource (docs/json-output.md).
 */
export interface ResourceReport {
  resource: string;
  type: CrateResource["type"];
  targetPath: string;
  /** created / skipped / planned (dry run) / failed. */
  status: "created" | "skipped" | "planned" | "failed";
  /** Why it was skipped, or the error message when failed. */
  reason: string | null;
  /** Name of the new (or planned) snapshot. */
  snapshot: string | null;
  /** Name of the snapshot it links against. */
  previous: string | null;
  stats: unknown;
  /** Human-readable details. */
  details: string[];
  /** Snapshots pruned (or, in a dry run, to prune). */
  pruned: string[];
  /** Leftovers of interrupted runs that were removed (or would be). */
  removedLeftovers: string[];
  preCommand: CommandOutcome | null;
  postCommand: CommandOutcome | null;
  warnings: string[];
}

/** Runs one resource. Failures are thrown after `report` has been filled in as far as it got. */
export async function runResource<S>(
  res: CrateResource,
  exec: ResourceExecutor<S>,
  settings: RunSettings,
  report: ResourceReport,
): Promise<void> {
  const warn = (msg: string) => report.warnings.push(msg);
  const { now, dryRun } = settings;
  const existing = listSnapshots(res.targetPath);
  const name = formatSnapshotName(now);
  const covering = settings.ignoreSchedule
    ? null
    : snapshotInWindow(res.schedule, now, existing.map((s) => s.time));
  const skip = covering
    ? `snapshot ${formatSnapshotName(covering)} already covers this ${res.schedule} window`
    : existing.some((s) => s.name === name)
    ? `snapshot ${name} already exists`
    : null;
  if (skip) {
    report.status = "skipped";
    report.reason = skip;
    if (dryRun) {
      report.pruned = snapshotsToPrune(existing, now, res.retainDays).map((s) => s.name);
      report.removedLeftovers = listLeftovers(res.targetPath);
      return;
    }
    const release = await acquireLock(res.targetPath);
    try {
      report.removedLeftovers = removeLeftovers(res.targetPath);
      report.pruned = prune(res, now);
    } finally {
      release();
    }
    return;
  }
  const free = freeBytes(res.targetPath);
  if (free < res.minFreeBytes) {
    throw new IoError(
      `resource "${res.name}": only ${formatSize(free)} free on the filesystem of ${res.targetPath}, ` +
        `min_free_space is ${formatSize(res.minFreeBytes)}; refusing to start`,
    );
  }
  exec.preflight(warn);
  const prev = existing.length > 0 ? existing[existing.length - 1] : null;
  report.snapshot = name;
  report.previous = prev?.name ?? null;
  if (dryRun) {
    const stats = await exec.build(null, prev, true, warn);
    report.status = "planned";
    report.stats = stats;
    report.details = exec.describe(stats, true);
    if (res.preCommand) report.details.push(`would run pre_command: ${res.preCommand}`);
    if (res.postCommand) report.details.push(`would run post_command: ${res.postCommand}`);
    const future = [...existing, { name, time: now, path: join(res.targetPath, name) }];
    report.pruned = snapshotsToPrune(future, now, res.retainDays).map((s) => s.name);
    report.removedLeftovers = listLeftovers(res.targetPath);
    return;
  }
  const release = await acquireLock(res.targetPath);
  const hookEnv = { VIGO_RESOURCE: res.name, VIGO_TARGET_PATH: res.targetPath, VIGO_SNAPSHOT: "" };
  let temp: string | null = null;
  let pendingPostCommand: string | undefined;
  // The hook running now: a signal ends it (its whole process group) before the rest is undone.
  let running: RunningCommand | null = null;
  const hook = async (command: string): Promise<CommandOutcome> => {
    running = startShellCommand(command, hookEnv);
    try {
      return await running.outcome;
    } finally {
      running = null;
    }
  };
  // A signal is a failed build too: without this the snapshot being built and the lock stayed until
  // the next run, and a service that pre_command stopped stayed stopped. In this order, as after a
  // failed build: the lock goes last so that no other run starts on a half-removed snapshot. Not
  // removeOnInterrupt: a snapshot keeps read-only directories, which only removeTree removes.
  const forgetInterrupt = stopOnInterrupt(() => {
    try {
      if (running) stopCommand(running);
      if (temp !== null) removeTree(temp);
    } finally {
      try {
        if (pendingPostCommand) runShellCommand(pendingPostCommand, hookEnv, POST_COMMAND_ON_INTERRUPT_MS);
      } finally {
        release();
      }
    }
  });
  try {
    report.removedLeftovers = removeLeftovers(res.targetPath);
    if (res.preCommand) {
      report.preCommand = await hook(res.preCommand);
      if (!report.preCommand.ok) {
        throw new IoError(
          `resource "${res.name}": ${describeFailure("pre_command", report.preCommand)}; not run`,
        );
      }
    }
    pendingPostCommand = res.postCommand;
    let buildError: unknown = null;
    try {
      temp = beginSnapshot(res.targetPath, name);
      const stats = await exec.build(temp, prev, false, warn);
      commitSnapshot(res.targetPath, temp, name);
      report.status = "created";
      report.stats = stats;
      report.details = exec.describe(stats, false);
    } catch (err) {
      // A snapshot that cannot be removed (its read-only directories, a failing disk) must not hide
      // why the build failed, nor keep post_command from undoing what pre_command did.
      buildError = temp === null ? err : await removingIncomplete(err, temp);
    }
    // post_command runs even after a failed build: it typically undoes what pre_command did
    if (res.postCommand) {
      pendingPostCommand = undefined;
      hookEnv.VIGO_SNAPSHOT = report.status === "created" ? join(res.targetPath, name) : "";
      report.postCommand = await hook(res.postCommand);
    }
    if (buildError) throw toVigoError(buildError);
    report.pruned = prune(res, now);
    if (report.postCommand && !report.postCommand.ok) {
      throw new IoError(
        `resource "${res.name}": ${describeFailure("post_command", report.postCommand)} ` +
          `(snapshot ${name} was created)`,
      );
    }
  } finally {
    forgetInterrupt();
    release();
  }
}

function prune(res: CrateResource, now: Date): string[] {
  const doomed = snapshotsToPrune(listSnapshots(res.targetPath), now, res.retainDays);
  for (const s of doomed) deleteSnapshot(res.targetPath, s.name);
  return doomed.map((s) => s.name);
}
