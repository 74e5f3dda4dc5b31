/**
 * A whole deployment for the drill tests, made with the real engines: a server root with a WAL
 * database written by a separate sqlite3 process, stacks/ (with configcrates: one crate with a
 * `backup` and a `db_backup` resource, one with only other executors' resources), secrets/, tls/;
 * one archive in paths.snapshots (`backup create`'s engine), one crate run, and a file:// replica
 * made by the replicator, stopped after the last commit was replicated.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { loadServerConfig } from "../../lib/config/server_yaml.ts";
import type { ServerConfig } from "../../lib/config/types.ts";
import { writeArchive } from "../../lib/archive/archive_writer.ts";
import { openFileSink } from "../../lib/archive/file_sink.ts";
import { archiveFileName } from "../../lib/archive/archive_names.ts";
import { loadCrateFile } from "../../lib/crate/crate_file.ts";
import { runCrate } from "../../lib/crate/crate_runner.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";

/** One deployment. */
export interface Deployment {
  base: string;
  root: string;
  serverYaml: string;
  db: string;
  snapshots: string;
  replicaDir: string;
  archive: string;
  config(): Promise<ServerConfig>;
  cleanup(): void;
}

/** Options of {@link makeDeployment}. */
export interface DeploymentOptions {
  /** Extra lines for server.yaml's backup: section (indented by two spaces). */
  backupExtra?: string[];
}

/** Builds a deployment under a fresh temporary directory. */
export async function makeDeployment(o: DeploymentOptions = {}): Promise<Deployment> {
  const base = Deno.makeTempDirSync({ prefix: "vigo-drill-" });
  const root = join(base, "srv");
  const snapshots = join(base, "snapshots");
  const replicaDir = join(base, "replica");
  const db = join(root, "db", "vigo.db");
  for (const d of ["db", "stacks/roles", "stacks/configcrates/system", "secrets", "tls"]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  const files: Record<string, string> = {
    "stacks/roles/web.yaml": "name: web\npackages: [nginx]\n",
    "secrets/.master.key": "0123456789abcdef0123456789abcdef\n",
    "tls/server.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "stacks/configcrates/nginx.yaml":
      "name: nginx\nresources:\n  - name: nginx-package\n    type: package\n    package: nginx\n",
    "stacks/configcrates/system/backups.yaml": [
      "name: backups",
      "resources:",
      "  - name: stacks-tree",
      "    type: backup",
      `    source_dir: ${JSON.stringify(join(root, "stacks"))}`,
      `    target_path: ${JSON.stringify(join(base, "hardlinks"))}`,
      "    min_free_space: 1M",
      "  - name: vigo-db",
      "    type: db_backup",
      "    db_type: sqlite",
      `    source_db: ${JSON.stringify(db)}`,
      `    target_path: ${JSON.stringify(join(base, "dumps"))}`,
      "    min_free_space: 1M",
      "",
    ].join("\n"),
    "server.yaml": [
      "database:",
      `  path: ${JSON.stringify(db)}`,
      "paths:",
      `  snapshots: ${JSON.stringify(snapshots)}`,
      "backup:",
      `  url: ${JSON.stringify(`file://${replicaDir}`)}`,
      "  sync_interval: 200ms",
      ...(o.backupExtra ?? []).map((l) => `  ${l}`),
      "",
    ].join("\n"),
  };
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(root, rel), text);
  await sqliteQuery(
    db,
    `PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u(k TEXT);
     WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 300)
     INSERT INTO t(v) SELECT hex(randomblob(40)) FROM c; INSERT INTO u VALUES ('a'), ('b');`,
  );
  const serverYaml = join(root, "server.yaml");
  const config = () => loadServerConfig(serverYaml, root);
  const cfg = await config();

  mkdirSync(snapshots, { recursive: true });
  const archive = join(snapshots, archiveFileName(new Date()));
  const sink = await openFileSink(archive);
  await writeArchive({ config: cfg, workDir: snapshots }, sink.writable);
  await sink.done;

  const crate = loadCrateFile(join(root, "stacks/configcrates/system/backups.yaml"));
  const { errors } = await runCrate(crate, { now: new Date(), ignoreSchedule: true, dryRun: false });
  if (errors.length) throw errors[0];

  const r = new Replicator({ dbPath: db, backup: cfg.backup, log: () => {} });
  await r.start();
  await sqliteQuery(db, "INSERT INTO u VALUES ('replicated');");
  await new Promise((res) => setTimeout(res, 800));
  await r.stop();

  return {
    base,
    root,
    serverYaml,
    db,
    snapshots,
    replicaDir,
    archive,
    config,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

/**
 * Path → size, mtime and SHA-256 of every file under `root`, except the `-shm` index, which any
 * reader of a WAL database (the server's own included) updates in place by design.
 */
export function treeState(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        out[`${relative(root, p)}/`] = String(statSync(p).mtimeMs);
        walk(p);
      } else if (!e.name.endsWith("-shm")) {
        const st = statSync(p);
        const sha = createHash("sha256").update(readFileSync(p)).digest("hex");
        out[relative(root, p)] = `${st.size} ${st.mtimeMs} ${sha}`;
      }
    }
  };
  walk(root);
  return out;
}

/** Flips one byte in the middle of `path`. */
export function corrupt(path: string): void {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(path, bytes);
}

/** Every WAL segment file of a file:// replica. */
export function walSegments(replicaDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes("/wal/") && p.endsWith(".wal.lz4")) out.push(p);
    }
  };
  walk(replicaDir);
  return out.sort();
}
