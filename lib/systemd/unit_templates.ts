/**
 * The systemd units `vigocli backup install-units` writes, as templates compiled into the binary
 * (an installed binary must not depend on files next to it). Pure: facts in, unit texts out, or a
 * refusal of a path systemd has no spelling for.
 */
import { ConfigError, UsageError } from "../errors.ts";
import {
  argumentWord,
  executableWord,
  pathListWord,
  printable,
  unfitForExecutable,
  unfitForPathList,
} from "./unit_words.ts";

/** What the units need to know about this host. All paths absolute. */
export interface UnitFacts {
  /** Program and leading arguments that start vigocli (the binary, or `deno run -A main.ts`). */
  command: string[];
  serverYaml: string;
  serverRoot: string;
  /**
   * Directories the replicator writes in: that of the file database.path resolves to (SQLite's -wal
   * and -shm, the replicator's lock and shadow WAL all go beside the real file), and database.path's
   * own when a symbolic link makes it another.
   */
  dbDirs: string[];
  /** Local replica directory when backup.url is file://, else undefined. */
  replicaDir?: string;
  /** server.yaml's backup.shutdown_timeout: the bound on the replicator's final flush after SIGTERM. */
  shutdownTimeoutMs?: number;
}

/** One unit file: its name under the unit directory and its text. */
export interface UnitFile {
  name: string;
  text: string;
}

/** The server unit the replicator is bound to (the seed's "server starts/stops litestream"). */
const SERVER_UNIT = "vigosrv.service";

function execLine(facts: UnitFacts, args: string[], raw = ""): string {
  const [program, ...leading] = facts.command;
  return `ExecStart=${[executableWord(program), ...[...leading, ...args].map(argumentWord)].join(" ")}${raw}`;
}

function configArgs(facts: UnitFacts): string[] {
  return ["--server-yaml", facts.serverYaml, "--server-root", facts.serverRoot];
}

function unit(lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** systemd's default stop timeout, kept as the floor: a stop never waited less than this. */
const MIN_STOP_TIMEOUT_SEC = 90;

/**
 * Past TimeoutStopSec systemd SIGKILLs the replicator in the middle of its flush. Past its own
 * shutdown_timeout it gives up by itself, logs where the unshipped WAL is and exits 7; the margin is
 * for releasing the database and the backend and for the runtime to exit, so that systemd records
 * that exit instead of a kill.
 */
const STOP_MARGIN_SEC = 30;

function stopTimeoutSec(facts: UnitFacts): number {
  const flushSec = Math.ceil((facts.shutdownTimeoutMs ?? 0) / 1000);
  return Math.max(MIN_STOP_TIMEOUT_SEC, flushSec + STOP_MARGIN_SEC);
}

/** `vigocli-replicate.service`: replication that starts and stops with the server. */
function replicateService(facts: UnitFacts): UnitFile {
  const writable = facts.dbDirs.map((d) => pathListWord(d));
  // "-": a file:// replica directory the replicator has not created yet must not stop the unit.
  if (facts.replicaDir) writable.push(pathListWord(facts.replicaDir, true));
  return {
    name: "vigocli-replicate.service",
    text: unit([
      "# Installed by `vigocli backup install-units`; reinstall with --force after editing by hand.",
      "[Unit]",
      "Description=vigocli: continuous replication of the Vigo database",
      `After=${SERVER_UNIT} network-online.target`,
      "Wants=network-online.target",
      `BindsTo=${SERVER_UNIT}`,
      `PartOf=${SERVER_UNIT}`,
      "",
      "[Service]",
      "Type=exec",
      execLine(facts, ["backup", "replicate", ...configArgs(facts)]),
      "Restart=on-failure",
      "RestartSec=5s",
      // SIGTERM to the main process only: the replicator flushes every committed frame, then exits 0.
      "KillSignal=SIGTERM",
      "KillMode=mixed",
      `TimeoutStopSec=${stopTimeoutSec(facts)}s`,
      "ProtectSystem=strict",
      "ProtectHome=read-only",
      `ReadWritePaths=${writable.join(" ")}`,
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "PrivateDevices=yes",
      "ProtectKernelTunables=yes",
      "ProtectControlGroups=yes",
      "RestrictSUIDSGID=yes",
      "",
      "[Install]",
      `WantedBy=${SERVER_UNIT}`,
    ]),
  };
}

/** `vigocli-crate@.service`: one `crate run` of the configcrate file named by the instance. */
function crateService(facts: UnitFacts): UnitFile {
  return {
    name: "vigocli-crate@.service",
    text: unit([
      "# Installed by `vigocli backup install-units`. Instance: the configcrate file's path,",
      "# escaped with `systemd-escape --path` (the timer of the same instance starts it).",
      "[Unit]",
      "Description=vigocli: configcrate snapshots and dumps of %f",
      "After=local-fs.target",
      "",
      "[Service]",
      "Type=oneshot",
      // %f is the unescaped instance path; it must not be quoted away, hence appended raw.
      execLine(facts, ["crate", "run"], " %f"),
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "Nice=10",
      "IOSchedulingClass=idle",
    ]),
  };
}

/** `vigocli-crate@.timer`: nightly, caught up after downtime, spread over half an hour. */
function crateTimer(): UnitFile {
  return {
    name: "vigocli-crate@.timer",
    text: unit([
      "# Installed by `vigocli backup install-units`. Enable one instance per configcrate file:",
      "#   systemctl enable --now vigocli-crate@$(systemd-escape --path FILE).timer",
      "[Unit]",
      "Description=vigocli: nightly configcrate run of %f",
      "",
      "[Timer]",
      "OnCalendar=*-*-* 02:30:00",
      "Persistent=true",
      "RandomizedDelaySec=30min",
      "",
      "[Install]",
      "WantedBy=timers.target",
    ]),
  };
}

/** `vigocli-drill.service`: one restore drill (`backup drill`). */
function drillService(facts: UnitFacts): UnitFile {
  return {
    name: "vigocli-drill.service",
    text: unit([
      "# Installed by `vigocli backup install-units`.",
      "[Unit]",
      "Description=vigocli: restore drill proving every recovery path",
      "After=network-online.target",
      "Wants=network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      execLine(facts, ["backup", "drill", ...configArgs(facts)]),
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "Nice=10",
      "IOSchedulingClass=idle",
    ]),
  };
}

/** `vigocli-drill.timer`: weekly, caught up after downtime. */
function drillTimer(): UnitFile {
  return {
    name: "vigocli-drill.timer",
    text: unit([
      "# Installed by `vigocli backup install-units`.",
      "[Unit]",
      "Description=vigocli: weekly restore drill",
      "",
      "[Timer]",
      "OnCalendar=Sun *-*-* 04:00:00",
      "Persistent=true",
      "RandomizedDelaySec=1h",
      "",
      "[Install]",
      "WantedBy=timers.target",
    ]),
  };
}

/**
 * Throws when a path cannot be written so that systemd reads it back (unit_words.ts): a unit that names
 * another executable, or drops its ReadWritePaths= (the database left read-only), must not be installed.
 * Exit 2 for what the command line gave, 3 for what server.yaml did.
 */
function refuseUnspellable(facts: UnitFacts): void {
  const program = facts.command[0];
  const unfit = unfitForExecutable(program);
  if (unfit) {
    throw new UsageError(
      `--bin ${printable(program)}: systemd does not run an executable whose path contains ${unfit} ` +
        "(systemd.service(5)); give --bin a path without it",
    );
  }
  const writable: [string, string][] = facts.dbDirs.map((d) => [d, "database.path"]);
  if (facts.replicaDir) writable.push([facts.replicaDir, "backup.url"]);
  for (const [dir, key] of writable) {
    const bad = unfitForPathList(dir);
    if (!bad) continue;
    const why = `which systemd's ReadWritePaths= cannot hold (the replication unit makes ${
      printable(dir)
    } writable)`;
    const inRoot = unfitForPathList(facts.serverRoot);
    if (inRoot && dir.startsWith(`${facts.serverRoot}/`)) {
      throw new UsageError(
        `--server-root ${
          printable(facts.serverRoot)
        }: contains ${inRoot}, ${why}; use a server root without it`,
      );
    }
    throw new ConfigError(
      `${printable(facts.serverYaml)}: ${key}: ${
        printable(dir)
      } contains ${bad}, ${why}; use a path without it`,
    );
  }
}

/** Every unit, in install order. Throws UsageError or ConfigError for a path systemd cannot read back. */
export function renderUnits(facts: UnitFacts): UnitFile[] {
  refuseUnspellable(facts);
  return [replicateService(facts), crateService(facts), crateTimer(), drillService(facts), drillTimer()];
}
