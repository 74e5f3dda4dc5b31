/**
 * The systemd units `vigocli backup install-units` writes, as templates compiled into the binary
 * (an installed binary must not depend on files next to it). Pure: facts in, unit texts out.
 */

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

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one ExecStart word: systemd splits on spaces, unquotes "…" with C escapes and expands `%`
 * specifiers and `$` variables, so a path containing any of these must not reach it raw.
 */
function execWord(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (SAFE_WORD.test(word)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Quotes one path of a ReadWritePaths= list (space-separated, quotes allowed, `%` specifiers). */
function pathWord(path: string, ignoreMissing = false): string {
  const p = path.replaceAll("%", "%%");
  const quoted = /[\s"\\]/.test(p) ? `"${p.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"` : p;
  return ignoreMissing ? `-${quoted}` : quoted;
}

function execLine(facts: UnitFacts, args: string[], raw = ""): string {
  return `ExecStart=${[...facts.command, ...args].map(execWord).join(" ")}${raw}`;
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
  const writable = facts.dbDirs.map((d) => pathWord(d));
  // "-": a file:// replica directory the replicator has not created yet must not stop the unit.
  if (facts.replicaDir) writable.push(pathWord(facts.replicaDir, true));
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

/** Every unit, in install order. */
export function renderUnits(facts: UnitFacts): UnitFile[] {
  return [replicateService(facts), crateService(facts), crateTimer(), drillService(facts), drillTimer()];
}
