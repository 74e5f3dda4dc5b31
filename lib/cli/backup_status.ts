/**
 * `vigocli backup status`: one view of every recovery path (archives, configcrate snapshots and
 * dumps, replication) and the last drill, as text, JSON, or a self-refreshing page (`--serve`).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { printLine, say, warn } from "./output.ts";
import process from "node:process";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { UsageError, VigoError } from "../errors.ts";
import { dropStartupSignals, holdStartupSignals, STOP_SIGNALS } from "../startup_signals.ts";
import type { ServerConfig } from "../config/types.ts";
import type { Status } from "../status/status_model.ts";
import { drillVerdict } from "../drill/drill_report.ts";

/** `status`: can I recover, and how old would my data be? */
export function backupStatusCommand(): Command {
  return new Command("status")
    .description("can I recover, and how old would my data be? archives, snapshots, replication, last drill")
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(jsonOption())
    .addOption(new Option("--serve <host:port>", "serve the status as a self-refreshing web page"))
    .addOption(
      new Option("--token <token>", "with --serve: required on every request (needed off 127.0.0.1)").env(
        "VIGO_STATUS_TOKEN",
      ),
    )
    .action(async (opts, cmd) => {
      // Given without --serve it guarded nothing, and said nothing (VIGO_STATUS_TOKEN may stay set).
      if (opts.token && !opts.serve && cmd.getOptionValueSource("token") === "cli") {
        throw new UsageError("--token: only with --serve (it guards the served page)");
      }
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { startCollection } = await import("../status/collect_status.ts");
      const { parseListenAddr, isLoopback } = await import("../net/listen_addr.ts");
      const listen = opts.serve ? parseListenAddr(opts.serve, "--serve") : null;
      if (listen && !isLoopback(listen.host) && !opts.token) {
        throw new UsageError(`--serve ${opts.serve}: not a loopback address; --token is required`);
      }
      // Browsers send headers as Latin-1 and refuse others in fetch(): the page's own refresh could never
      // carry any other character, nor a space, which header parsing trims.
      if (opts.token && !/^[\x21-\x7e]+$/.test(opts.token)) {
        throw new UsageError(
          "--token / VIGO_STATUS_TOKEN: only printable ASCII without spaces (! to ~) is allowed in a token",
        );
      }
      const { cfg, secretsError } = await loadConfig(opts.serverYaml, opts.serverRoot);
      for (const w of cfg.warnings) warn(w);
      const collect = () => startCollection(cfg, { secretsError });
      if (!listen) {
        const { status } = await collect();
        if (opts.json) printJson(status);
        else printLine(statusText(status));
        return;
      }
      const { serveStatus } = await import("../status/status_server.ts");
      const server = await serveStatus({ addr: listen, token: opts.token, collect });
      say(`vigocli: serving the status page on ${server.url}/${opts.token ? "?token=…" : ""}`);
      const stop = Promise.withResolvers<void>();
      const onSignal = () => stop.resolve();
      for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
      // Start-up's would exit at once, before the server closes.
      dropStartupSignals();
      await stop.promise;
      // Start-up's again, before this one goes: a second signal while the server closes exits 130 with
      // its line, not with the runtime's default (143, no word).
      holdStartupSignals();
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      await server.close();
    }) as unknown as Command;
}

/** server.yaml with secrets resolved when possible; else without, and why (remote facts then say so). */
async function loadConfig(
  serverYaml: string,
  serverRoot: string,
): Promise<{ cfg: ServerConfig; secretsError?: string }> {
  const { loadServerConfig, requireSqlite } = await import("../config/server_yaml.ts");
  let cfg: ServerConfig;
  try {
    cfg = await loadServerConfig(serverYaml, serverRoot);
  } catch (err) {
    if (!(err instanceof VigoError)) throw err;
    // Read again without secrets: a broken server.yaml fails here as itself; unresolvable secrets
    // only cost the remote facts.
    const withoutSecrets = await loadServerConfig(serverYaml, serverRoot, { secrets: "skip" });
    requireSqlite(withoutSecrets);
    return { cfg: withoutSecrets, secretsError: err.message };
  }
  requireSqlite(cfg);
  return { cfg };
}

function age(ms: number | null): string {
  if (ms === null) return "-";
  const s = ms / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** The status as a few lines of text. */
function statusText(s: Status): string {
  const out: string[] = [];
  const sm = s.summary;
  out.push(
    sm.recoverable
      ? `RECOVERABLE: newest recoverable data is ${age(sm.best_age_ms)} old (${sm.best_path})`
      // None found, or none the last drill could restore: the problems below say which.
      : "NOT RECOVERABLE: no archive, snapshot or replica known to restore",
  );
  for (const p of sm.problems) out.push(`  problem: ${p}`);
  const r = s.replication;
  out.push(
    // Unread, not empty: "0 generation(s), latest none" of a replica whose listing failed read as lost.
    r.url && r.error
      ? `replication  ${r.url}: not read (${r.error})`
      : r.url
      ? `replication  ${r.url}: ${r.generations} generation(s), latest ${
        r.latest_generation ?? "none"
      }, lag ${age(r.lag_ms)}${
        r.live
          ? (r.live.reachable
            ? `, replicator ${r.live.healthy ? "current" : "NOT current"}`
            : ", replicator unreachable")
          : ""
      }`
      : "replication  not configured (no backup.url)",
  );
  for (const [label, loc] of [["local", s.archives.local], ["remote", s.archives.remote]] as const) {
    if (!loc) {
      out.push(`archives     ${label}: not configured`);
      continue;
    }
    out.push(
      loc.error
        ? `archives     ${label} ${loc.where}: ${loc.error}`
        : `archives     ${label} ${loc.where}: ${loc.count}, newest ${
          loc.newest
            ? `${loc.newest.name} (${age(loc.newest_age_ms)} old${
              loc.newest.verified_by_drill ? ", verified by drill" : ""
            })`
            : "none"
        }`,
    );
  }
  if (s.snapshots.resources.length === 0) {
    out.push(`snapshots    none configured under ${s.snapshots.crates_dir}`);
  }
  for (const c of s.snapshots.resources) {
    out.push(
      `snapshots    ${c.crate}/${c.resource} (${c.type}): ${c.count}, newest ${c.newest?.name ?? "none"} (${
        age(c.newest_age_ms)
      } old), last run ${c.last_run ? `${c.last_run.status} ${c.last_run.ran_at}` : "not recorded"}`,
    );
  }
  const d = s.drill?.report;
  out.push(
    d
      ? `drill        ${drillVerdict(d)} ${d.finished_at}: ${
        Object.entries(d.paths).map(([k, p]) =>
          `${k} ${p.status}${p.rpo_seconds !== null ? ` rpo ${age(p.rpo_seconds * 1000)}` : ""}`
        )
          .join(", ")
      }`
      : `drill        ${s.drill_error ?? "never run"}`,
  );
  return out.join("\n");
}
