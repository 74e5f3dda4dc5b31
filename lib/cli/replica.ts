/**
 * `vigocli backup replica restore|list|litestream-config`: the Litestream-compatible replica seen
 * from outside the replicator — restore it (latest or point in time), show what it holds, or print
 * the equivalent litestream.yml for operators who run the external binary.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { clearProgressLine, isQuiet, say, warn } from "./output.ts";
import { resolve } from "node:path";
import type { BackupConfig } from "../config/types.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { hex8 } from "../litestream/paths.ts";
import { parseRfc3339 } from "../rfc3339.ts";
import { type Backend, spareTempsInListings } from "../backend/backend.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { credentialsFileOption, credentialSources } from "./credentials_option.ts";
import { elapsedMs, printJson } from "./json_output.ts";
import { queueStderr, queueStdout } from "./stdout.ts";

/** `replica`: restore, list and configure replicas */
export function replicaCommand(): Command {
  return new Command("replica")
    .description("restore, list and configure the Litestream-compatible replica")
    .addCommand(restoreCommand())
    .addCommand(listCommand())
    .addCommand(litestreamConfigCommand()) as unknown as Command;
}

/**
 * Parses `--timestamp`: RFC 3339 with seconds and a zone, as Litestream's `-timestamp` (lib/rfc3339.ts,
 * shared with VIGO_NOW); what is wrong with it is a usage error (exit 2).
 */
function parseTimestamp(text: string): Date {
  const time = parseRfc3339(text);
  if (typeof time === "string") throw new UsageError(`--timestamp ${JSON.stringify(text)}: ${time}`);
  return time;
}

interface SourceOptions {
  url?: string;
  serverYaml: string;
  serverRoot: string;
  credentialsFile?: string;
}

/** Opens the replica named by `--url`, else by server.yaml's `backup.url`. */
async function openReplica(cmd: Command, o: SourceOptions): Promise<Backend> {
  // Loaded here, not at the top, so that merely building the command tree stays cheap.
  const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
  const { defaultDestination, openBackend, urlScheme } = await import("../backends.ts");
  const { applyCredentialSources, keysWithoutServerYaml } = await import("../config/credentials.ts");
  const credentials = await credentialSources(o.credentialsFile);
  const yamlGiven = cmd.getOptionValueSource("serverYaml") === "cli";
  let backup: BackupConfig | undefined;
  if (!o.url || yamlGiven) {
    const cfg = await loadServerConfig(o.serverYaml, o.serverRoot, { credentials });
    requireSqlite(cfg);
    for (const w of cfg.warnings) warn(w);
    backup = cfg.backup;
    if (!backup && !o.url) {
      throw new ConfigError(`${o.serverYaml}: no backup: section (give the replica with --url URL instead)`);
    }
  }
  const url = o.url ?? backup!.url;
  let dest = backup?.destination;
  if (!dest || dest.scheme !== urlScheme(url)) {
    dest = defaultDestination(url);
    if (dest.scheme === "s3" || dest.scheme === "gcs") {
      dest.keysSource = keysWithoutServerYaml(
        backup
          ? `${o.serverYaml}'s backup.url is not a ${dest.scheme}:// URL`
          : yamlGiven
          ? `${o.serverYaml} has no backup: section`
          : `${o.serverYaml} not read (--url without --server-yaml)`,
      );
    }
  }
  const backend = await openBackend(url, applyCredentialSources(url, dest, credentials));
  // Its commands only read the replica: their listings leave a killed run's temporary files to the replicator.
  spareTempsInListings(backend);
  return backend;
}

function urlOption() {
  return new Option(
    "--url <url>",
    "replica URL (file:///dir, s3://bucket/path, …); default: server.yaml backup.url",
  );
}

function restoreCommand() {
  return new Command("restore")
    .description(
      "restore the database from the replica into a NEW file: latest state, or as of --timestamp; " +
        "checks every WAL frame, refuses gaps, runs integrity_check",
    )
    .requiredOption("-o, --output <path>", "where to write the restored database (must not exist)")
    .option(
      "--timestamp <time>",
      "restore the state as of this UTC time (RFC 3339, e.g. 2026-03-13T14:30:00Z)",
    )
    .option("--generation <id>", "restore this generation (default: the one with the newest data)")
    .option("--no-integrity-check", "skip PRAGMA integrity_check of the result (faster on huge databases)")
    .addOption(urlOption())
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(credentialsFileOption())
    .addOption(jsonOption())
    .action(async (opts, cmd) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { isGenerationName } = await import("../litestream/paths.ts");
      const { replicaClientFor } = await import("../litestream/backend_replica_client.ts");
      const { restoreReplica } = await import("../litestream/restore.ts");
      const timestamp = opts.timestamp !== undefined ? parseTimestamp(opts.timestamp) : undefined;
      if (opts.generation !== undefined && !isGenerationName(opts.generation)) {
        throw new UsageError(
          `--generation ${JSON.stringify(opts.generation)}: expected 16 lowercase hex digits`,
        );
      }
      const backend = await openReplica(cmd as unknown as Command, opts);
      try {
        const started = performance.now();
        const result = await restoreReplica(replicaClientFor(backend), {
          outputPath: resolve(opts.output),
          generation: opts.generation,
          timestamp,
          integrityCheck: opts.integrityCheck,
          log: (line) => {
            if (isQuiet()) return;
            clearProgressLine();
            queueStderr(`${line}\n`);
          },
        });
        const durationMs = elapsedMs(started);
        if (opts.json) {
          printJson({ ...result, durationMs });
        } else {
          say(
            `restored ${result.outputPath} from generation ${result.generation} (snapshot ` +
              `${hex8(result.snapshotIndex)} + ${result.segments} WAL segment(s)) ` +
              `as of ${result.restoredUpTo.toISOString()} in ${(durationMs / 1000).toFixed(1)}s`,
          );
        }
      } finally {
        await backend.close();
      }
    });
}

function listCommand() {
  return new Command("list")
    .description("show the replica's generations, snapshots, WAL range and time span")
    .addOption(urlOption())
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(credentialsFileOption())
    .addOption(jsonOption())
    .action(async (opts, cmd) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { replicaClientFor } = await import("../litestream/backend_replica_client.ts");
      const { formatSummary, listReplica } = await import("../litestream/replica_list.ts");
      const backend = await openReplica(cmd as unknown as Command, opts);
      try {
        const summary = await listReplica(replicaClientFor(backend));
        if (opts.json) printJson(summary);
        else queueStdout(formatSummary(summary));
      } finally {
        await backend.close();
      }
    });
}

function litestreamConfigCommand() {
  return new Command("litestream-config")
    .description("print a litestream.yml equivalent to server.yaml's backup: section")
    .option("--with-secrets", "write the resolved access keys instead of ${LITESTREAM_*} references")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .action(async (opts) => {
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
      const { litestreamConfigFor, litestreamConfigWarnings } = await import(
        "../litestream/litestream_config.ts"
      );
      const cfg = await loadServerConfig(opts.serverYaml, opts.serverRoot, {
        secrets: opts.withSecrets ? "resolve" : "skip",
      });
      requireSqlite(cfg);
      for (const w of [...cfg.warnings, ...litestreamConfigWarnings(cfg)]) warn(w);
      queueStdout(litestreamConfigFor(cfg, { withSecrets: opts.withSecrets }));
    });
}
