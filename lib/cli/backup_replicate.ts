/**
 * `vigocli backup replicate`: continuous Litestream-compatible replication of the server's SQLite
 * database to server.yaml's `backup.url`, until SIGINT/SIGTERM; then every committed frame is
 * uploaded before the process exits 0. One log line per event on stdout (warnings and errors on stderr),
 * filtered by `--log-level` and written as `--log-format` text or json.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { isQuiet } from "./output.ts";
import { setVerboseSink } from "../verbose.ts";
import process from "node:process";
import { ConfigError, ExitCode, NotFoundError } from "../errors.ts";
import { dropStartupSignals, holdStartupSignals, STOP_SIGNALS } from "../startup_signals.ts";
import { serverRootOption, serverYamlOption } from "./common.ts";
import { existsSync } from "node:fs";

/** `replicate`: continuously replicate the database (Litestream-compatible) */
export function backupReplicateCommand(): Command {
  return new Command("replicate")
    .description("continuously replicate the database (Litestream-compatible) until SIGINT/SIGTERM")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(
      new Option("--log-level <level>", "least severe event logged (debug adds each request)")
        .choices(["debug", "info", "warn", "error"] as const)
        // said, not set: the action picks it after -q is known
        .default(undefined, "info, or error with -q"),
    )
    .addOption(
      new Option("--log-format <format>", "text (Litestream's key=value lines) or json (one object per line)")
        .choices(["text", "json"] as const).default("text" as const),
    )
    .addOption(
      new Option("--addr <host:port>", "serve /metrics and /healthz here (default: backup.addr, else none)"),
    )
    .action(async (opts) => {
      // Signals are taken over first, so one arriving while the config loads or the first snapshot
      // runs still means "flush and exit 0". A second signal exits at once: everything already
      // stored is consistent (uploads are atomic; the shadow WAL is fsynced), only the flush is skipped.
      let signalled = false;
      let requestStop: () => void = () => {};
      const stopRequested = new Promise<void>((r) => (requestStop = r));
      const onSignal = (sig: string) => {
        if (signalled) {
          console.error(`vigocli: second ${sig}: exiting without a final flush`);
          process.exit(ExitCode.Interrupted);
        }
        signalled = true;
        requestStop();
      };
      // SIGHUP too: a terminal closed on a replicator in the foreground flushes it as Ctrl-C does, not
      // the runtime's default (killed, 129, no word, the last sync interval's frames not shipped).
      for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
      // Start-up's would exit at once, before the flush.
      dropStartupSignals();
      try {
        // Loaded here, not at the top, so that merely building the command tree stays cheap.
        const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
        const { Replicator } = await import("../replicate/replicator.ts");
        const { filteredSink } = await import("../replicate/event_log.ts");
        const level = opts.logLevel ?? (isQuiet() ? "error" : "info");
        const log = filteredSink(level.toUpperCase() as Uppercase<typeof level>, opts.logFormat);
        // At debug level the library's -v detail (one line per request) joins the event log.
        if (level === "debug") setVerboseSink((line) => log("DEBUG", line));
        const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot);
        requireSqlite(cfg);
        for (const w of cfg.warnings) log("WARN", w);
        if (!cfg.backup?.url) {
          throw new ConfigError(`${opts.serverYaml}: no backup.url configured; nothing to replicate to`);
        }
        if (!existsSync(cfg.database.path)) {
          throw new NotFoundError(`${cfg.database.path}: database not found`);
        }
        if (signalled) return;
        const addr = opts.addr ?? cfg.backup.addr;
        const metered = addr
          ? await (await import("../metrics/replicator_with_metrics.ts")).meteredReplicatorOptions(
            cfg,
            addr,
            opts.addr ? "--addr" : `${opts.serverYaml}: backup.addr`,
            log,
          )
          : null;
        if (metered) log("INFO", `serving /metrics and /healthz on ${metered.server.url}`);
        try {
          const replicator = new Replicator(
            metered?.options ?? { dbPath: cfg.database.path, backup: cfg.backup, log },
          );
          const starting = replicator.start();
          starting.catch(() => {}); // a failure after a signal is reported by stop()
          // A signal during the first step (a replica down at boot retries for a while) is not made
          // to wait for it: stop() bounds the whole shutdown.
          await Promise.race([starting, stopRequested]);
          // Another replicator claiming the replica ends the run by itself (exit 5, see stop()).
          await Promise.race([stopRequested, replicator.failed.catch(() => {})]);
          await replicator.stop();
        } finally {
          await metered?.server.close();
        }
      } finally {
        // Before the exit, every line out: a second signal still exits at once (onSignal).
        await (await import("../replicate/event_log.ts")).eventsWritten();
        // Start-up's again first: a signal between this and the exit would otherwise find none (143).
        holdStartupSignals();
        for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      }
    }) as unknown as Command;
}
