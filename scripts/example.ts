/**
 * `deno task example`: the main job on the bundled example deployment (examples/srv-vigo).
 * Creates examples/srv-vigo/db/vigo.db when missing (a generated Vigo-like database in WAL mode; it
 * is never committed), then runs, as an operator would, `vigocli backup create` into examples/out/,
 * `backup inspect` and `backup verify` of the new archive. Set VIGOCLI_BIN to run a compiled binary
 * instead of the sources.
 */
import { DatabaseSync } from "node:sqlite";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type DevScript, parseDevArgs, usageError } from "./dev_args.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const ROOT = "examples/srv-vigo";
const OUT = "examples/out";
const DB = `${ROOT}/db/vigo.db`;

/** Deterministic pseudo-random numbers (mulberry32), so every checkout generates the same database. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMA = `
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE nodes (
  id INTEGER PRIMARY KEY,
  hostname TEXT NOT NULL UNIQUE,
  arch TEXT NOT NULL,
  os TEXT NOT NULL,
  facts TEXT NOT NULL DEFAULT '{}',
  enrolled_at TEXT NOT NULL,
  last_seen_at TEXT
);
CREATE TABLE envoys (
  id INTEGER PRIMARY KEY,
  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  version TEXT NOT NULL,
  cert_serial TEXT NOT NULL UNIQUE,
  cert_not_after TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked'))
);
CREATE TABLE configcrate_runs (
  id INTEGER PRIMARY KEY,
  node_id INTEGER NOT NULL REFERENCES nodes(id),
  configcrate TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('ok', 'changed', 'failed', 'skipped')),
  resources_changed INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  output TEXT
);
CREATE INDEX configcrate_runs_node ON configcrate_runs(node_id, started_at);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at);
`;

/** Writes the database under a temporary name and renames it, so an interrupted run leaves nothing. */
function createDatabase(path: string): Record<string, number> {
  mkdirSync(join(path, ".."), { recursive: true });
  const tmp = `${path}.creating`;
  rmSync(tmp, { force: true });
  const db = new DatabaseSync(tmp);
  const rand = rng(0x5eed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const iso = (ms: number) => new Date(ms).toISOString();
  const counts = { nodes: 240, envoys: 240, configcrate_runs: 4000, audit_log: 2500 };
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(SCHEMA);
  db.exec("BEGIN");
  const mig = db.prepare("INSERT INTO schema_migrations VALUES (?, ?)");
  for (let v = 1; v <= 12; v++) mig.run(v, iso(t0 - (13 - v) * 86_400_000));
  const node = db.prepare("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?)");
  const envoy = db.prepare("INSERT INTO envoys VALUES (?, ?, ?, ?, ?, ?)");
  const roles = ["web", "db", "cache", "worker", "edge"];
  for (let id = 1; id <= counts.nodes; id++) {
    const arch = pick(["x86_64", "x86_64", "aarch64", "armv7l", "riscv64"]);
    const os = pick(["debian-12", "debian-13", "ubuntu-24.04", "alpine-3.21"]);
    const enrolled = t0 + Math.floor(rand() * 60) * 86_400_000;
    const facts = JSON.stringify({
      cpus: 1 + Math.floor(rand() * 32),
      mem_mb: 512 * (1 + Math.floor(rand() * 64)),
    });
    node.run(
      id,
      `${roles[id % 5]}-${String(id).padStart(3, "0")}.example.com`,
      arch,
      os,
      facts,
      iso(enrolled),
      iso(enrolled + Math.floor(rand() * 9e8)),
    );
    const serial = Array.from({ length: 16 }, () => Math.floor(rand() * 256).toString(16).padStart(2, "0"))
      .join("");
    envoy.run(
      id,
      id,
      pick(["0.50.2", "0.51.4", "0.51.6"]),
      serial,
      iso(enrolled + 365 * 86_400_000),
      pick(["active", "active", "active", "pending", "revoked"]),
    );
  }
  const run = db.prepare("INSERT INTO configcrate_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (let id = 1; id <= counts.configcrate_runs; id++) {
    const started = t0 + id * 900_000;
    const duration = 200 + Math.floor(rand() * 20_000);
    const status = pick(["ok", "ok", "ok", "changed", "failed", "skipped"]);
    const changed = status === "changed" ? 1 + Math.floor(rand() * 5) : 0;
    const output = status === "failed"
      ? "resource nginx-service: exit status 1: Job for nginx.service failed"
      : null;
    run.run(
      id,
      1 + Math.floor(rand() * counts.nodes),
      pick(["base", "nginx", "backups", "vigo-server-backup"]),
      iso(started),
      iso(started + duration),
      status,
      changed,
      duration,
      output,
    );
  }
  const audit = db.prepare("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)");
  const actions = [
    "envoy.enroll",
    "envoy.revoke",
    "config.publish",
    "secret.update",
    "user.login",
    "backup.create",
  ];
  for (let id = 1; id <= counts.audit_log; id++) {
    const action = pick(actions);
    audit.run(
      id,
      iso(t0 + id * 1_440_000),
      pick(["admin", "ops", "ci-bot", "system"]),
      action,
      `node:${1 + Math.floor(rand() * counts.nodes)}`,
      JSON.stringify({ source_ip: `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}` }),
    );
  }
  db.exec("COMMIT");
  db.close();
  renameSync(tmp, path);
  return counts;
}

/** git does not keep file modes: put back the 0600 the server would have on key material. */
function restoreSecretModes(): void {
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        chmodSync(p, 0o700);
        walk(p);
      } else chmodSync(p, 0o600);
    }
  };
  chmodSync(`${ROOT}/secrets`, 0o700);
  walk(`${ROOT}/secrets`);
  for (const key of ["ca_key.pem", "key.pem"]) chmodSync(`${ROOT}/tls/${key}`, 0o600);
}

function cliCommand(): string[] {
  const bin = Deno.env.get("VIGOCLI_BIN");
  return bin ? [bin] : [Deno.execPath(), "run", "-A", "--quiet", "main.ts"];
}

/** Runs `vigocli ARGS…`, showing the command and its output; returns the exit code. */
async function vigocli(...args: string[]): Promise<number> {
  console.log(`\n$ vigocli ${args.join(" ")}`);
  const [cmd, ...pre] = cliCommand();
  const { code } = await new Deno.Command(cmd, {
    args: [...pre, ...args],
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) console.log(`(exit code ${code})`);
  return code;
}

function newestArchive(dir: string): string | undefined {
  return readdirSync(dir)
    .filter((n) => /^vigo-backup-.*\.tar\.gz(\.enc)?$/.test(n) && !n.endsWith(".sha256"))
    .map((n) => join(dir, n))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

const EXAMPLE: DevScript = {
  name: "example",
  help: "./dev example --help",
  usage: `Usage: ./dev example

Backs up the bundled example deployment (examples/srv-vigo) as an operator would: \`vigocli backup
create\` into examples/out/, then \`backup inspect\` and \`backup verify\` of the new archive. Creates
examples/srv-vigo/db/vigo.db first when it is missing. No options.

Environment:
  VIGOCLI_BIN  run this compiled executable instead of the sources

Examples:
  ./dev example
  VIGOCLI_BIN=dist/vigocli-x86_64-linux ./dev example`,
};

async function main(): Promise<number> {
  const { positionals } = parseDevArgs(EXAMPLE, { options: {}, allowPositionals: true });
  if (positionals.length > 0) usageError(EXAMPLE, `takes no arguments, got ${positionals.join(" ")}`);
  Deno.chdir(REPO);
  if (existsSync(DB)) {
    console.log(`using the existing ${DB} (delete it to regenerate)`);
  } else {
    const counts = createDatabase(DB);
    const rows = Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(", ");
    console.log(`created ${DB} (WAL mode; ${rows}; ${statSync(DB).size} bytes)`);
  }
  restoreSecretModes();
  mkdirSync(OUT, { recursive: true });
  const before = newestArchive(OUT);
  const common = ["--server-root", ROOT, "--server-yaml", `${ROOT}/server.yaml`];
  if (await vigocli("backup", "create", `${OUT}/`, ...common) !== 0) return 1;
  const archive = newestArchive(OUT);
  if (!archive || archive === before) {
    console.log(`backup create reported success but wrote no new archive in ${OUT}/`);
    return 1;
  }
  const rel = relative(REPO, archive);
  if (await vigocli("backup", "inspect", rel) !== 0) return 1;
  if (await vigocli("backup", "verify", rel) !== 0) return 1;
  console.log(
    `\nexample done: ${rel} (${statSync(archive).size} bytes) created, inspected and verified; ` +
      `sidecar ${rel}.sha256`,
  );
  return 0;
}

Deno.exit(await main());
